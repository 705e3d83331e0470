package carddav

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/emersion/go-webdav/carddav"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

// addressBook returns the collection's URL, with a trailing slash, finding
// it on first use. The sink cannot deliver anything without it, so every
// failure here stops the sink for the run.
func (s *Sink) addressBook(ctx context.Context) (*url.URL, error) {
	s.bookMu.Lock()
	defer s.bookMu.Unlock()
	if s.book != nil {
		return s.book, nil
	}
	var (
		book *url.URL
		err  error
	)
	if s.cfg.URL != "" {
		book, err = s.collection(ctx, s.cfg.URL)
	} else {
		book, err = s.discover(ctx)
	}
	if err != nil {
		if !errors.Is(err, sinks.ErrUnavailable) {
			err = fmt.Errorf("%w (%w)", err, sinks.ErrUnavailable)
		}
		return nil, err
	}
	s.book = book
	return book, nil
}

// collection checks that the collection at raw exists, creating it if
// the config says so.
func (s *Sink) collection(ctx context.Context, raw string) (*url.URL, error) {
	book, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("carddav: %w", err)
	}
	book.Path = strings.TrimSuffix(book.Path, "/") + "/"
	const propfind = `<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>`
	resp, err := s.client.send(ctx, "PROPFIND", book.String(), http.Header{
		"Depth":        {"0"},
		"Content-Type": {`application/xml; charset="utf-8"`},
	}, []byte(propfind))
	if err != nil {
		return nil, err
	}
	missing := resp.StatusCode == http.StatusNotFound
	if resp.StatusCode == http.StatusMultiStatus {
		defer resp.Body.Close()
		isBook, found, err := addressBookStatus(resp.Body)
		switch {
		case err != nil:
			return nil, fmt.Errorf("carddav: PROPFIND %s: %w", s.client.shown(book.String()), s.client.redact.Error(err))
		case isBook:
			return book, nil
		case found:
			return nil, fmt.Errorf("carddav: %s is not an address book", s.client.shown(book.String()))
		}
		missing = true
	}
	switch {
	case missing && s.cfg.CreateAddressBook:
		return book, s.create(ctx, book, path.Base(book.Path))
	case missing:
		return nil, fmt.Errorf("carddav: no address book at %s; set create_addressbook: true to create it", s.client.shown(book.String()))
	}
	return nil, s.client.fail(resp)
}

// addressBookStatus reads a PROPFIND of resourcetype: whether the
// resource is an address book, and whether it exists at all (Xandikos
// answers 207 with a 404 inside for a missing one).
func addressBookStatus(body io.Reader) (isBook, found bool, err error) {
	var ms struct {
		Responses []struct {
			Status    string `xml:"DAV: status"`
			Propstats []struct {
				Prop struct {
					ResourceType struct {
						AddressBook *struct{} `xml:"urn:ietf:params:xml:ns:carddav addressbook"`
					} `xml:"DAV: resourcetype"`
				} `xml:"DAV: prop"`
				Status string `xml:"DAV: status"`
			} `xml:"DAV: propstat"`
		} `xml:"DAV: response"`
	}
	if err := xml.NewDecoder(body).Decode(&ms); err != nil {
		return false, false, err
	}
	for _, r := range ms.Responses {
		if strings.Contains(r.Status, " 404 ") {
			continue
		}
		for _, p := range r.Propstats {
			if strings.Contains(p.Status, " 200 ") {
				found = true
				isBook = isBook || p.Prop.ResourceType.AddressBook != nil
			}
		}
	}
	return isBook, found, nil
}

// discover finds the book through the server's context path
// (/.well-known/carddav, RFC 6764), the current user's principal and its
// address book home set (RFC 6352, 7.1), and picks it by display name or
// path. What the server answers goes into the errors redacted: the paths
// and names it gives, and go-webdav's errors, which quote its answers.
func (s *Sink) discover(ctx context.Context) (*url.URL, error) {
	root, err := s.contextURL(ctx)
	if err != nil {
		return nil, err
	}
	c := s.client
	dav, err := carddav.NewClient(c, root.String())
	if err != nil {
		return nil, fmt.Errorf("carddav: %w", c.redact.Error(err))
	}
	principal, err := dav.FindCurrentUserPrincipal(ctx)
	if err != nil {
		return nil, fmt.Errorf("carddav: current user principal at %s: %w", c.shown(root.String()), c.redact.Error(err))
	}
	home, err := dav.FindAddressBookHomeSet(ctx, principal)
	if err != nil {
		return nil, fmt.Errorf("carddav: address book home set of %s: %w", c.shown(root.JoinPath(principal).String()), c.redact.Error(err))
	}
	homeURL := root.ResolveReference(&url.URL{Path: home})
	books, err := dav.FindAddressBooks(ctx, home)
	if err != nil {
		return nil, fmt.Errorf("carddav: address books in %s: %w", c.shown(homeURL.String()), c.redact.Error(err))
	}
	want := s.cfg.AddressBook
	var names []string
	for _, b := range books {
		if b.Name == want || strings.Trim(b.Path, "/") == strings.Trim(want, "/") || path.Base(b.Path) == want {
			return s.collection(ctx, root.ResolveReference(&url.URL{Path: b.Path}).String())
		}
		names = append(names, fmt.Sprintf("%q (%s)", b.Name, b.Path))
	}
	if !s.cfg.CreateAddressBook {
		return nil, fmt.Errorf("carddav: no address book %q in %s (there are: %s); set create_addressbook: true to create it",
			want, c.shown(homeURL.String()), c.redact.Redact(strings.Join(names, ", ")))
	}
	book := homeURL.JoinPath(slug(want) + "/")
	return book, s.create(ctx, book, want)
}

// contextURL is where the server's CardDAV service is: where
// /.well-known/carddav redirects to, the well-known URL itself when it
// answers, or else the server URL as configured.
func (s *Sink) contextURL(ctx context.Context) (*url.URL, error) {
	server, err := url.Parse(s.cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("carddav: %w", err)
	}
	wellKnown := server.ResolveReference(&url.URL{Path: "/.well-known/carddav"})
	const propfind = `<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>`
	resp, err := s.client.send(ctx, "PROPFIND", wellKnown.String(), http.Header{
		"Depth":        {"0"},
		"Content-Type": {`application/xml; charset="utf-8"`},
	}, []byte(propfind))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, s.client.fail(resp)
	case resp.StatusCode/100 == 3 && resp.Header.Get("Location") != "":
		loc, err := wellKnown.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, fmt.Errorf("carddav: PROPFIND %s: redirect: %w", wellKnown, s.client.redact.Error(err))
		}
		if loc.Scheme != wellKnown.Scheme || loc.Host != wellKnown.Host {
			// Not followed by the client either (checkRedirect).
			return nil, fmt.Errorf("carddav: PROPFIND %s: %w: %w", wellKnown, sinks.ErrUnavailable, s.client.redirected(loc))
		}
		return loc, nil
	case resp.StatusCode == http.StatusMultiStatus:
		return wellKnown, nil
	}
	return server, nil
}

// create makes book an address book named name with an extended MKCOL
// (RFC 5689).
func (s *Sink) create(ctx context.Context, book *url.URL, name string) error {
	if s.checking {
		return nil
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` +
		`<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>` +
		`<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>`)
	if err := xml.EscapeText(&b, []byte(name)); err != nil {
		return fmt.Errorf("carddav: %w", err)
	}
	b.WriteString(`</D:displayname></D:prop></D:set></D:mkcol>`)
	resp, err := s.client.send(ctx, "MKCOL", book.String(), http.Header{
		"Content-Type": {`application/xml; charset="utf-8"`},
	}, []byte(b.String()))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return s.client.fail(resp)
	}
	resp.Body.Close()
	s.logger.Info("created the address book", "url", s.client.shown(book.String()), "name", name)
	return nil
}

// slug makes a display name into a path segment for a new book.
func slug(name string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, strings.TrimSpace(name))
	if s = strings.Trim(s, "-"); s == "" {
		return "connect"
	}
	return s
}
