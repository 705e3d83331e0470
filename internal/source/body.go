package source

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxBody bounds the small responses (lead statuses, me, a created
// contact), which are read whole.
const maxBody = 16 << 20

// decodeBody decodes a whole 2xx response into v, after checking that it
// holds the kind of JSON value that want ('[' or '{') starts.
func decodeBody(resp *http.Response, want byte, v any) error {
	br := bufio.NewReader(io.LimitReader(resp.Body, maxBody))
	if err := sniff(resp, br, want); err != nil {
		return err
	}
	if err := json.NewDecoder(br).Decode(v); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// sniff checks that the body's first non-space byte is want, leaving it
// unread, so that an HTML error page or an object where a list belongs
// gets a clear error instead of a decoder's.
func sniff(resp *http.Response, br *bufio.Reader, want byte) error {
	b, err := firstByte(br)
	if err == io.EOF {
		return fmt.Errorf("response body is empty (status %d)", resp.StatusCode)
	}
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if b == want {
		return nil
	}
	got := describe(b)
	if b == '<' || isHTML(resp.Header.Get("Content-Type")) {
		got = "HTML"
	}
	return fmt.Errorf("response is not %s (got %s, status %d)", describe(want), got, resp.StatusCode)
}

// firstByte returns the first byte that is not JSON white space, unread.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b, br.UnreadByte()
	}
}

// describe names the JSON value that starts with b.
func describe(b byte) string {
	switch b {
	case '[':
		return "a JSON array"
	case '{':
		return "a JSON object"
	case '"':
		return "a JSON string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a JSON boolean"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a JSON number"
	}
	return notJSON
}

// notJSON is how describe names a byte no JSON value starts with.
const notJSON = "something that is not JSON"
