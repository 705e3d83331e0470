package carddav

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// index holds the book's connect-sync cards by contact id (their
// X-CONNECT-ID), so that a sink that lost its memo adopts them instead of
// writing duplicates. A card with the contact's UID but another
// X-CONNECT-ID belongs to no one and is left alone.
type index map[string][]found

type found struct {
	uid string
	rec record
}

// adopt returns the card the contact had before the sink lost its memo,
// nil when the book holds none. The book is listed once per sink (once
// per run), by the first contact without a memo, and only when the memo
// is empty (a new sink, a reset, a new state file): with a memo, a contact
// without one is new, and the If-None-Match of its upload tells whether a
// card of ours is at its place after all.
func (s *Sink) adopt(ctx context.Context, book *url.URL, id string) (*record, error) {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.index == nil {
		n, err := s.memo.Len(ctx)
		if err != nil {
			return nil, fmt.Errorf("carddav: %w", err)
		}
		idx := index{}
		if n == 0 {
			if idx, err = s.list(ctx, book); err != nil {
				return nil, err
			}
		}
		s.index = idx
	}
	return s.index.take(id, card.UID(s.opts.SourceURL, id)), nil
}

// list reads every card, keeping those with an X-CONNECT-ID, in one
// addressbook-query REPORT, which every CardDAV server supports (RFC 6352,
// 8.6). Without it no new card can be written safely, so a failure stops
// the sink.
//
// The REPORT is our own rather than go-webdav's QueryAddressBook, which
// fails the whole listing on one response it cannot read: Xandikos lists
// the collection itself without address data, and any card another client
// wrote may not parse. Neither is a card to adopt. There is no filter on
// X-CONNECT-ID because Xandikos 0.2 fails every filtered query. Of each
// card, only what card.Identify reads is looked at, in time linear in the
// card's size, however the server folded its lines.
func (s *Sink) list(ctx context.Context, book *url.URL) (index, error) {
	const query = `<?xml version="1.0" encoding="utf-8"?>` +
		`<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` +
		`<D:prop><D:getetag/><C:address-data/></D:prop><C:filter/></C:addressbook-query>`
	resp, err := s.client.sendWithin(ctx, "REPORT", book.String(), http.Header{
		"Depth":        {"1"},
		"Content-Type": {`application/xml; charset="utf-8"`},
	}, []byte(query), s.client.listing)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusMultiStatus {
		err := s.client.fail(resp)
		if !errors.Is(err, sinks.ErrUnavailable) {
			err = fmt.Errorf("%w (%w: no card can be adopted)", err, sinks.ErrUnavailable)
		}
		return nil, err
	}
	defer resp.Body.Close()
	idx := index{}
	err = eachResponse(resp.Body, s.client.request.size, func(r *listed) {
		for _, p := range r.Propstats {
			c, err := card.Identify(bytes.NewReader(p.Prop.AddressData))
			if err != nil {
				continue
			}
			href, err := book.Parse(r.Href)
			if c.ConnectID != "" && err == nil {
				idx[c.ConnectID] = append(idx[c.ConnectID], found{uid: c.UID, rec: record{Href: href.Path, ETag: p.Prop.ETag}})
			}
		}
	})
	if err != nil {
		// An XML error may quote what the server sent.
		return nil, fmt.Errorf("carddav: REPORT %s: %w: %w", s.client.shown(book.String()), sinks.ErrUnavailable, s.client.redact.Error(err))
	}
	return idx, nil
}

// listed is one response of the book's listing: a card.
type listed struct {
	Href      string `xml:"DAV: href"`
	Propstats []struct {
		Prop struct {
			ETag        string `xml:"DAV: getetag"`
			AddressData []byte `xml:"urn:ietf:params:xml:ns:carddav address-data"`
		} `xml:"DAV: prop"`
	} `xml:"DAV: propstat"`
}

// eachResponse decodes a multistatus one response at a time, so that
// memory holds one card of a large book, not the book: each response (and
// whatever precedes it) may take up to limit bytes.
func eachResponse(body io.Reader, limit int64, each func(*listed)) error {
	w := &window{r: body, max: limit}
	dec := xml.NewDecoder(w)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name != (xml.Name{Space: "DAV:", Local: "response"}) {
			continue
		}
		var r listed
		if err := dec.DecodeElement(&r, &start); err != nil {
			return err
		}
		each(&r)
		w.used = 0
	}
}

// window fails a read once more than max bytes were read since used was
// last reset.
type window struct {
	r    io.Reader
	used int64
	max  int64
}

func (w *window) Read(p []byte) (int, error) {
	if w.used > w.max {
		return 0, fmt.Errorf("a response in the multistatus is larger than %d MiB", w.max>>20)
	}
	n, err := w.r.Read(p)
	w.used += int64(n)
	return n, err
}

// take returns the contact's card, nil when there is none, and forgets
// the contact: its memo points at the card from now on. Only a card with
// the UID the sink writes is the sink's: the same X-CONNECT-ID under
// another UID is a copy made by another client, or the card of another
// Connect source (ids are only unique within one). Of several, it prefers
// the href the sink writes to, and leaves the others.
func (x index) take(id, uid string) *record {
	cards := x[id]
	delete(x, id)
	var best *found
	for i, c := range cards {
		if c.uid == uid && (best == nil || path.Base(c.rec.Href) == fileName(uid)) {
			best = &cards[i]
		}
	}
	if best == nil {
		return nil
	}
	return &best.rec
}
