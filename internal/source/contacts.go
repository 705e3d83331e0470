package source

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

const contactsPath = "/api/connect/contacts"

// readBufferSize is the read buffer for the contact list, which can be tens
// of megabytes.
const readBufferSize = 256 << 10

// Contacts fetches every contact of the workspace, or only those matching
// query when it is not empty, and calls each once per contact, in the
// API's order, with the contact object exactly as the API sent it. raw is
// valid only until each returns: each must copy what it keeps. The list is
// decoded as a stream into one reused buffer, so memory neither grows with
// it nor churns.
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
	body := &countingReader{r: resp.Body}
	br := bufio.NewReaderSize(body, readBufferSize)
	if err := sniff(resp, br, '['); err != nil {
		return err
	}
	body.skipped = body.n - int64(br.Buffered()) // the white space sniff read
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil {
		return err
	}
	n := 0
	var raw json.RawMessage
	for dec.More() {
		if err := dec.Decode(&raw); err != nil {
			return streamError(n, err, body)
		}
		if raw[0] != '{' {
			return final{fmt.Errorf("contact %d in the response is %s, not a JSON object", n+1, describe(raw[0]))}
		}
		if err := each(raw); err != nil {
			return final{err}
		}
		n++
	}
	if _, err := dec.Token(); err != nil {
		return streamError(n, err, body)
	}
	if _, err := dec.Token(); err != io.EOF {
		return final{fmt.Errorf("response has more after the contact array (%d contacts)", n)}
	}
	return nil
}

// streamError explains a decoding failure after n contacts of body. Once
// contacts were handed over, it must not be retried: the caller would see
// them twice.
func streamError(n int, err error, body *countingReader) error {
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax) && !(body.ended && syntax.Offset >= body.n-body.skipped):
		err = fmt.Errorf("response is not valid JSON (after %d contacts): %w", n, err)
	default:
		// A body that stops early is io.EOF, io.ErrUnexpectedEOF or (from
		// Go 1.27's decoder) a syntax error at its very end.
		if err == io.EOF || syntax != nil {
			err = io.ErrUnexpectedEOF
		}
		err = fmt.Errorf("response ended before the contact array did (after %d contacts): %w", n, err)
	}
	if n > 0 {
		return final{err}
	}
	return err
}

// countingReader counts the bytes of a body and notes its end.
type countingReader struct {
	r       io.Reader
	n       int64
	ended   bool
	skipped int64 // read before the decoder's first byte
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		c.ended = true
	}
	return n, err
}
