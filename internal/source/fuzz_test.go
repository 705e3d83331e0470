package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// FuzzStreamContacts feeds arbitrary bodies to the streamed decoder of the
// contact list. It must succeed exactly when the body is a JSON array of
// objects, handing over every element verbatim and in order, except those
// nested deeper than MaxContactDepth, which it skips and names (the bodies
// are too small to hit MaxContactBytes). When it fails, what it handed
// over before (which the caller discards) must still be whole JSON objects
// taken from the body in order.
func FuzzStreamContacts(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		var got []json.RawMessage
		err := streamContacts(resp, func(raw json.RawMessage) error {
			got = append(got, slices.Clone(raw))
			return nil
		})
		var want []json.RawMessage
		isList := json.Unmarshal(body, &want) == nil && want != nil &&
			!slices.ContainsFunc(want, func(raw json.RawMessage) bool { return raw[0] != '{' })
		var skipped *contact.SkippedError
		if errors.As(err, &skipped) && isList {
			for _, s := range slices.Backward(skipped.Contacts) {
				if depth(want[s.Position-1]) <= MaxContactDepth {
					t.Fatalf("skipped contact %d, %q, which is not too deep", s.Position, want[s.Position-1])
				}
				want = slices.Delete(want, s.Position-1, s.Position)
			}
			err = nil
		}
		if (err == nil) != isList {
			t.Fatalf("err = %v for %q, which a JSON array of objects is: %v", err, body, isList)
		}
		if err == nil && !slices.EqualFunc(got, want, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Fatalf("handed over %q, want %q", got, want)
		}
		rest := body
		for i, raw := range got {
			at := bytes.Index(rest, raw)
			if at < 0 || raw[0] != '{' || !json.Valid(raw) {
				t.Fatalf("contact %d handed over is %q, not the next JSON object of the body %q", i+1, raw, body)
			}
			rest = rest[at+len(raw):]
		}
	})
}

// depth is how deeply a JSON value's objects and arrays nest.
func depth(raw []byte) int {
	deepest := 0
	dec := json.NewDecoder(bytes.NewReader(raw))
	for d := 0; ; {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			d++
			deepest = max(deepest, d)
		case json.Delim('}'), json.Delim(']'):
			d--
		}
	}
}
