package source

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrUnauthorized is returned, wrapped, when the API answers 401: the key is
// wrong, revoked, or its owner left the workspace. Retrying cannot help.
var ErrUnauthorized = errors.New("the Connect API rejected the API key (401)")

// APIError is a non-2xx answer other than 401.
type APIError struct {
	Endpoint string // which call failed, such as "contacts"
	Status   int    // the HTTP status code
	Message  string // the API's {"error": "..."} message; may be empty
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("the Connect API answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("the Connect API answered %d: %s", e.Status, e.Message)
}

// maxErrorBody is how much of an error body is read for its message.
const maxErrorBody = 4 << 10

// maxMessage bounds what an error quotes of the API's message.
const maxMessage = 200

// statusError turns a non-2xx response into ErrUnauthorized or an APIError.
func (c *Client) statusError(endpoint string, resp *http.Response) error {
	if resp.StatusCode == http.StatusUnauthorized {
		return ErrUnauthorized
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// Quoted without a secret the API echoes (the key, in any case), nor
	// the start of one cut short.
	msg := c.redact.Quote(errorMessage(body, resp.Header.Get("Content-Type")), maxMessage)
	return &APIError{Endpoint: endpoint, Status: resp.StatusCode, Message: msg}
}

// errorMessage reads the API's {"error": "..."} body. Failing that, the
// first line of a plain-text body (a proxy's, say) is better than nothing;
// an HTML page is not worth quoting.
func errorMessage(body []byte, contentType string) []byte {
	var parsed struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		return []byte(cmp.Or(parsed.Error, parsed.Message))
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] == '<' || isHTML(contentType) {
		return nil
	}
	line, _, _ := bytes.Cut(body, []byte("\n"))
	return line
}

// isHTML reports whether a Content-Type announces an HTML page.
func isHTML(contentType string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "text/html")
}
