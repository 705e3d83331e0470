package source

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"

	"github.com/connect-sync/connect-sync/internal/contact"
)

const contactsPath = "/api/connect/contacts"

// readBufferSize is the read buffer for the contact list, which can be tens
// of megabytes.
const readBufferSize = 256 << 10

// MaxContactBytes and MaxContactDepth bound one contact of the list, as
// the API sends it: its size, and how deeply its objects and arrays nest
// (the contact itself is level 1). The API's own contacts are a few
// kilobytes and three levels deep; a contact beyond either bound is
// skipped rather than held in memory, stored and sent to every sink, and
// an object nested beyond encoding/json's own limit would otherwise fail
// the whole list. 64 levels is also as deep as some consumers' JSON
// parsers go by default.
const (
	MaxContactBytes = 4 << 20
	MaxContactDepth = 64
)

// Contacts fetches every contact of the workspace, or only those matching
// query when it is not empty, and calls each once per contact, in the
// API's order, with the contact object exactly as the API sent it. raw is
// valid only until each returns: each must copy what it keeps. The list is
// decoded as a stream into one reused buffer, so memory neither grows with
// it nor churns.
//
// A contact larger than MaxContactBytes or nested deeper than
// MaxContactDepth is read to its end without being kept, and not handed
// to each: once the whole list has arrived, Contacts returns a
// *contact.SkippedError naming each such contact by its id (read on the
// way, when it has a readable one) and its place in the list. Every other
// contact was handed over.
//
// Contacts returns nil only when the whole list arrived and each accepted
// every contact. A response that is not a JSON array of objects, or that
// ends early, fails the whole call, even after some contacts were handed
// over: a partial list is never reported as a complete one. Failures are
// retried only until the first contact is handed to each; after that,
// any failure ends the call. An error from each stops the stream and is
// returned, wrapped.
func (c *Client) Contacts(ctx context.Context, query string, each func(raw json.RawMessage) error) error {
	r := request{endpoint: "contacts", method: http.MethodGet, path: contactsPath}
	if query != "" {
		r.query = url.Values{"query": {query}}
	}
	return c.do(ctx, r, func(resp *http.Response) error {
		return streamContacts(resp, each)
	})
}

// streamContacts decodes the contact array in resp, one element at a time.
func streamContacts(resp *http.Response, each func(raw json.RawMessage) error) error {
	br := bufio.NewReaderSize(resp.Body, readBufferSize)
	if err := sniff(resp, br, '['); err != nil {
		return err
	}
	br.ReadByte() // the '[' sniff saw
	l := list{br: br}
	b, err := l.next()
	for b != ']' && err == nil {
		if err = l.element(b, each); err != nil {
			return err
		}
		if b, err = l.next(); err == nil && b != ']' {
			if b != ',' {
				return l.fail(fmt.Errorf("invalid character %q after contact %d", b, l.position))
			}
			if b, err = l.next(); b == ']' {
				return l.fail(fmt.Errorf("invalid character ']' after a comma"))
			}
		}
	}
	if err != nil {
		return l.ended(err)
	}
	if _, err := l.next(); err != io.EOF {
		return final{fmt.Errorf("response has more after the contact array (%d contacts)", l.handed)}
	}
	if len(l.skipped) > 0 {
		return final{&contact.SkippedError{Contacts: l.skipped}}
	}
	return nil
}

// list reads the contact array's elements.
type list struct {
	br       *bufio.Reader
	scan     scanner
	buf      []byte // the element being read, reused
	position int    // elements met, skipped ones included
	handed   int    // elements handed over
	skipped  []contact.Skipped
}

// next returns the next byte that is not JSON white space.
func (l *list) next() (byte, error) {
	b, err := firstByte(l.br)
	if err == nil {
		l.br.ReadByte()
	}
	return b, err
}

// element reads the element that starts with b and hands it to each, or
// notes it as skipped when it is too large or too deeply nested. Either
// way it is read to its end, a chunk at a time, so that memory holds at
// most MaxContactBytes of it.
func (l *list) element(b byte, each func(raw json.RawMessage) error) error {
	l.position++
	if b != '{' {
		if describe(b) == notJSON {
			return l.fail(fmt.Errorf("invalid character %q where contact %d should start", b, l.position))
		}
		return final{fmt.Errorf("contact %d in the response is %s, not a JSON object", l.position, describe(b))}
	}
	l.br.UnreadByte()
	l.scan.reset()
	l.buf = l.buf[:0]
	size := 0
	for done := false; !done; {
		if l.br.Buffered() == 0 {
			if _, err := l.br.Peek(1); err != nil {
				return l.ended(err)
			}
		}
		chunk, _ := l.br.Peek(l.br.Buffered())
		n, end, err := l.scan.scan(chunk)
		if err != nil {
			return l.fail(err)
		}
		size += n
		if size <= MaxContactBytes && l.scan.deepest <= MaxContactDepth {
			l.keep(chunk[:n])
		}
		l.br.Discard(n)
		done = end
	}
	switch {
	case size > MaxContactBytes:
		l.skip(fmt.Sprintf("larger than %d MiB", MaxContactBytes>>20))
		return nil
	case l.scan.deepest > MaxContactDepth:
		l.skip(fmt.Sprintf("nested deeper than %d levels", MaxContactDepth))
		return nil
	}
	if !json.Valid(l.buf) {
		return l.fail(json.Unmarshal(l.buf, new(json.RawMessage)))
	}
	if err := each(l.buf); err != nil {
		return final{err}
	}
	l.handed++
	return nil
}

// keep appends p to the element's bytes, doubling the buffer when it is
// full: append grows a large slice by a quarter, which would allocate
// several times MaxContactBytes on the way to holding it.
func (l *list) keep(p []byte) {
	if need := len(l.buf) + len(p); need > cap(l.buf) {
		l.buf = slices.Grow(l.buf, min(max(need, 2*cap(l.buf)), MaxContactBytes)-len(l.buf))
	}
	l.buf = append(l.buf, p...)
}

// skip notes the element just read as skipped, for why.
func (l *list) skip(why string) {
	l.skipped = append(l.skipped, contact.Skipped{ID: l.scan.ID(), Position: l.position, Reason: why})
}

// fail explains that the body is not valid JSON. Once contacts were
// handed over, it must not be retried: the caller would see them twice.
func (l *list) fail(err error) error {
	return l.final(fmt.Errorf("response is not valid JSON (after %d contacts): %w", l.handed, err))
}

// ended explains that the body stopped before the array did.
func (l *list) ended(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return l.final(fmt.Errorf("response ended before the contact array did (after %d contacts): %w", l.handed, err))
}

func (l *list) final(err error) error {
	if l.handed > 0 {
		return final{err}
	}
	return err
}
