// Package fakeconnect is an in-memory fake of the Connect (Skarbe) contacts
// API, as described in shared/connect-api.md. It serves the four documented
// endpoints with their documented errors, generates realistic contacts from a
// seed, lets callers change contacts while it serves, injects faults (errors,
// rate limits, hangs, cut connections, HTML pages) and records every request.
//
// Tests use it behind httptest.NewServer; the demo command serves it for
// real. It is fast enough to serve 100,000 contacts in benchmarks: each
// contact's JSON is encoded when it changes, and the list is streamed.
package fakeconnect

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// DefaultAPIKey is the key a Server accepts when Options.APIKey is empty.
const DefaultAPIKey = "sk_test_fakeconnect"

// Options configures a Server.
type Options struct {
	// APIKey is the only X-Api-Key the server accepts; requests without it
	// or with another key get 401. Empty means DefaultAPIKey.
	APIKey string
	// Contacts is how many contacts to generate.
	Contacts int
	// Seed makes generation deterministic: the same Seed and Contacts give
	// byte-identical responses.
	Seed int64
	// Workspace is the workspace name /api/connect/me returns; empty means
	// "Demo Workspace".
	Workspace string
}

// Request is one request as the server received it, for tests to check
// what a client sends (X-Api-Key, User-Agent, Accept, the POST body).
type Request struct {
	Method string
	Path   string // without the query
	Query  url.Values
	Header http.Header // a copy
	Body   []byte      // the whole body, read before answering
}

// Server is the fake API. It implements http.Handler; all its methods are
// safe for concurrent use with requests being served.
type Server struct {
	apiKey    string
	workspace string

	mu       sync.Mutex
	contacts store
	now      time.Time // the deterministic clock; see tick
	faults   []Fault
	requests []Request
}

// New returns a Server holding opts.Contacts generated contacts.
func New(opts Options) *Server {
	s := &Server{
		apiKey:    opts.APIKey,
		workspace: opts.Workspace,
		now:       generateEnd,
	}
	if s.apiKey == "" {
		s.apiKey = DefaultAPIKey
	}
	if s.workspace == "" {
		s.workspace = "Demo Workspace"
	}
	s.contacts.reset(generate(opts.Contacts, opts.Seed))
	return s
}

// ServeHTTP records the request, applies the first queued fault that
// matches it, checks the API key and serves the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client is gone; there is nobody to answer
	}
	f, faulty := s.record(r, body)
	w.Header().Set("Content-Type", "application/json")
	if faulty {
		if f.Hang {
			<-r.Context().Done()
			return
		}
		if f.Truncate > 0 {
			tw := &truncatingWriter{ResponseWriter: w, left: f.Truncate}
			defer tw.abort()
			w = tw
		}
		if f.serve(w) {
			return
		}
	}
	if !s.authorized(w, r) {
		return
	}
	s.route(w, r, body)
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// record logs the request and takes the fault to apply to it, if any.
func (s *Server) record(r *http.Request, body []byte) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Body:   body,
	})
	return s.takeFault(r)
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	key := r.Header.Get("X-Api-Key")
	switch {
	case key == "":
		writeError(w, http.StatusUnauthorized, "Missing API key")
	case subtle.ConstantTimeCompare([]byte(key), []byte(s.apiKey)) != 1:
		writeError(w, http.StatusUnauthorized, "Invalid API key")
	default:
		return true
	}
	return false
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	switch r.URL.Path {
	case "/api/connect/contacts":
		switch r.Method {
		case http.MethodGet:
			s.listContacts(w, r)
		case http.MethodPost:
			s.createContact(w, body)
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case "/api/connect/contacts/lead-statuses":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		writeJSON(w, http.StatusOK, leadStatuses)
	case "/api/connect/me":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		s.me(w)
	default:
		writeError(w, http.StatusNotFound, "Not found")
	}
}

func (s *Server) me(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"details":   map[string]string{"name": "Alex Morgan", "email": "alex.morgan@example.com"},
		"workspace": map[string]string{"name": s.workspace},
	})
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeJSON writes v, which is always encodable, as the response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client is gone
}
