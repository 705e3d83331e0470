package fakeconnect

import (
	"io"
	"net/http"
)

// Fault is a misbehaviour applied to one request. Faults wait in a queue;
// each request takes the first one whose Endpoint matches it. The fields
// compose: Status and Body replace the response, RetryAfter adds a
// header, Truncate cuts whatever is sent (the real response when there is
// no Status or Body), and Hang overrides everything.
//
// Examples:
//
//	Fault{Status: 503}                                   // {"error": "Service Unavailable"}
//	Fault{Status: 429, RetryAfter: "2"}                  // or an HTTP date
//	Fault{Endpoint: "GET /api/connect/contacts", Hang: true}
//	Fault{Truncate: 4096}                                // real body, cut after 4 KiB
//	Fault{Status: 502, Body: "<!DOCTYPE html>...", ContentType: "text/html"}
//	Fault{Body: `{"data": []}`}                          // 200, not an array
type Fault struct {
	// Endpoint selects the requests the fault applies to: a path
	// ("/api/connect/contacts"), a method and a path
	// ("POST /api/connect/contacts"), or empty for any request.
	Endpoint string
	// Status is the response status. With no Body the body is
	// {"error": "<status text>"}. Zero means 200 when Body is set.
	Status int
	// Body, if set, is sent verbatim instead of the real response.
	Body string
	// ContentType is Body's type; empty means application/json.
	ContentType string
	// RetryAfter, if set, is sent as the Retry-After header.
	RetryAfter string
	// Hang makes the server answer nothing until the request's context is
	// done (the client gives up or the connection closes).
	Hang bool
	// Truncate, if positive, closes the connection abruptly after at most
	// this many bytes of the body, even when the body is shorter. It needs a
	// real connection (httptest.NewServer), not a ResponseRecorder.
	Truncate int
}

// Fail queues f for the next request that matches f.Endpoint. Queue the
// same fault several times to fail several requests.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// takeFault removes and returns the first queued fault matching r. The
// caller holds s.mu.
func (s *Server) takeFault(r *http.Request) (Fault, bool) {
	for i, f := range s.faults {
		if f.Endpoint == "" || f.Endpoint == r.URL.Path || f.Endpoint == r.Method+" "+r.URL.Path {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return f, true
		}
	}
	return Fault{}, false
}

// serve writes the fault's response, if it replaces the real one, and
// reports whether it did.
func (f Fault) serve(w http.ResponseWriter) bool {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Status == 0 && f.Body == "" {
		return false
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.Body == "" {
		writeError(w, status, http.StatusText(status))
		return true
	}
	if f.ContentType != "" {
		w.Header().Set("Content-Type", f.ContentType)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, f.Body) // a write error means the client is gone
	return true
}

// truncatingWriter passes at most left bytes of the body through, then
// fails every write so the handler stops.
type truncatingWriter struct {
	http.ResponseWriter
	left int
}

func (t *truncatingWriter) Write(p []byte) (int, error) {
	if len(p) <= t.left {
		n, err := t.ResponseWriter.Write(p)
		t.left -= n
		return n, err
	}
	n, _ := t.ResponseWriter.Write(p[:t.left])
	t.left -= n
	return n, io.ErrShortWrite
}

// abort sends what was written and drops the connection without ending the
// response, as a crashing server or a broken proxy would.
func (t *truncatingWriter) abort() {
	_ = http.NewResponseController(t.ResponseWriter).Flush()
	panic(http.ErrAbortHandler)
}
