package carddav

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/emersion/go-vcard"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// maxAttempts bounds the rounds of reading a card and writing it again
// while it keeps changing on the server.
const maxAttempts = 3

// upload writes body to rec.Href, only over the card rec.ETag names, or
// only where there is none when rec has no ETag. A card found otherwise is
// read and, if the sink may, written over with the ETag read.
func (s *Sink) upload(ctx context.Context, id string, rec *record, body []byte) error {
	done, err := s.put(ctx, id, rec.Href, rec.ETag, body)
	for attempt := 0; !done && err == nil; attempt++ {
		if attempt == maxAttempts {
			return fmt.Errorf("carddav: %s keeps changing on the server; it is tried again next run", s.where(rec.Href))
		}
		var cur *fetched
		if cur, err = s.get(ctx, rec.Href); err != nil {
			return err
		}
		if cur != nil && bytes.Equal(cur.body, body) {
			// Written before: a delivery repeated after a crash.
			return s.remember(ctx, id, rec.Href, cur.etag)
		}
		if err = s.mayChange(id, rec, cur); err != nil {
			return err
		}
		done, err = s.put(ctx, id, rec.Href, cur.tag(), body)
	}
	return err
}

// remove deletes the card rec points at, if it is still as rec says. A
// card already gone is fine; one that is no longer connect-sync's is left.
func (s *Sink) remove(ctx context.Context, id string, rec *record) error {
	if rec == nil {
		return nil // no card on the server, even after listing the book
	}
	etag := rec.ETag
	for range maxAttempts {
		header := http.Header{}
		if etag != "" {
			header.Set("If-Match", etag)
		}
		resp, err := s.client.send(ctx, http.MethodDelete, s.at(rec.Href), header, nil)
		if err != nil {
			return err
		}
		switch {
		case resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
			resp.Body.Close()
			return s.forget(ctx, id)
		case resp.StatusCode != http.StatusPreconditionFailed:
			return s.client.fail(resp)
		}
		resp.Body.Close()
		cur, err := s.get(ctx, rec.Href)
		if err != nil {
			return err
		}
		if cur == nil || !s.owns(cur.body, id) {
			return s.forget(ctx, id)
		}
		if err := s.mayChange(id, rec, cur); err != nil {
			return err
		}
		etag = cur.tag()
	}
	return fmt.Errorf("carddav: %s keeps changing on the server; it is tried again next run", s.where(rec.Href))
}

// mayChange decides whether the sink may write over or delete cur, the
// card found at rec.Href (nil: none) when it was not as rec says. After a
// lost state it is the sink's own; when the memo knew it, someone changed
// it on the server, and the conflict policy decides.
func (s *Sink) mayChange(id string, rec *record, cur *fetched) error {
	target := s.where(rec.Href)
	if cur != nil && !s.owns(cur.body, id) {
		return fmt.Errorf("carddav: %s: %w: the card there is not connect-sync's (its %s is not %s)", target, sinks.ErrPermanent, card.FieldConnectID, id)
	}
	if !rec.written {
		return nil
	}
	if s.cfg.ConflictPolicy == Skip {
		s.conflict("skipped")
		return fmt.Errorf("carddav: %s: %w: conflict: the card changed on the server since connect-sync wrote it, and conflict_policy is skip", target, sinks.ErrPermanent)
	}
	s.logger.Warn("conflict: the card changed on the server; connect-sync overwrites it (conflict_policy overwrite)", "contact", id, "url", target)
	s.conflict("overwritten")
	rec.written = false // resolved: no second warning for a retry
	return nil
}

// put sends body to href with If-Match: etag, or If-None-Match: * without
// an ETag, and remembers the new ETag. It returns false, and no error,
// when the card was not as expected: 412, or 404 for one that should be
// there.
func (s *Sink) put(ctx context.Context, id, href, etag string, body []byte) (bool, error) {
	header := http.Header{"Content-Type": {"text/vcard; charset=utf-8"}}
	if etag != "" {
		header.Set("If-Match", etag)
	} else {
		header.Set("If-None-Match", "*")
	}
	resp, err := s.client.send(ctx, http.MethodPut, s.at(href), header, body)
	if err != nil {
		return false, err
	}
	switch {
	case resp.StatusCode == http.StatusPreconditionFailed || resp.StatusCode == http.StatusNotFound && etag != "":
		resp.Body.Close()
		return false, nil
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return false, fmt.Errorf("carddav: PUT %s: %s: %w: the address book is gone", s.where(href), s.client.redact.Redact(resp.Status), sinks.ErrUnavailable)
	case resp.StatusCode/100 != 2:
		return false, s.client.fail(resp)
	}
	resp.Body.Close()
	newTag := resp.Header.Get("ETag")
	if newTag == "" {
		// The server altered the card as it stored it (RFC 6352, 6.3.2.3)
		// or does not say: read the ETag back.
		cur, err := s.get(ctx, href)
		if err != nil {
			return false, err
		}
		newTag = cur.tag()
	}
	return true, s.remember(ctx, id, href, newTag)
}

// fetched is a card as read from the server.
type fetched struct {
	body []byte
	etag string
}

// tag is the card's ETag, empty for no card.
func (f *fetched) tag() string {
	if f == nil {
		return ""
	}
	return f.etag
}

// get reads the card at href, nil when there is none.
func (s *Sink) get(ctx context.Context, href string) (*fetched, error) {
	resp, err := s.client.send(ctx, http.MethodGet, s.at(href), http.Header{"Accept": {vcard.MIMEType}}, nil)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		resp.Body.Close()
		return nil, nil
	case resp.StatusCode/100 != 2:
		return nil, s.client.fail(resp)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("carddav: GET %s: %w", s.where(href), err)
	}
	return &fetched{body: body, etag: resp.Header.Get("ETag")}, nil
}

// owns reports whether body is a card this sink wrote for the contact: its
// X-CONNECT-ID and its UID, which derives from the source, both match.
func (s *Sink) owns(body []byte, id string) bool {
	c, err := card.Identify(bytes.NewReader(body))
	return err == nil && c.ConnectID == id && c.UID == card.UID(s.opts.SourceURL, id)
}

// at is the URL of href, a path on the server of the address book.
func (s *Sink) at(href string) string {
	return s.book.ResolveReference(&url.URL{Path: href}).String()
}

// where is the URL of href as errors and logs show it (client.shown).
func (s *Sink) where(href string) string { return s.client.shown(s.at(href)) }
