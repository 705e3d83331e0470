package fakeconnect_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

// get sends an authorized request to a real server, as faults that cut or
// stall connections need one.
func get(ctx context.Context, t *testing.T, url string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestFaultResponses(t *testing.T) {
	const html = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
	tests := []struct {
		name        string
		fault       fakeconnect.Fault
		wantStatus  int
		wantType    string
		wantBody    string // exact, or "" for {"error": ...}
		wantRetry   string
		wantContact bool // the real list follows the fault's headers
	}{
		{name: "500", fault: fakeconnect.Fault{Status: 500}, wantStatus: 500},
		{name: "503", fault: fakeconnect.Fault{Status: 503}, wantStatus: 503},
		{name: "400", fault: fakeconnect.Fault{Status: 400}, wantStatus: 400},
		{name: "429 seconds", fault: fakeconnect.Fault{Status: 429, RetryAfter: "2"}, wantStatus: 429, wantRetry: "2"},
		{name: "429 date", fault: fakeconnect.Fault{Status: 429, RetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"},
			wantStatus: 429, wantRetry: "Wed, 21 Oct 2015 07:28:00 GMT"},
		{name: "own error body", fault: fakeconnect.Fault{Status: 500, Body: `{"error": "database is down"}`},
			wantStatus: 500, wantBody: `{"error": "database is down"}`},
		{name: "HTML 200", fault: fakeconnect.Fault{Body: html, ContentType: "text/html"},
			wantStatus: 200, wantType: "text/html", wantBody: html},
		{name: "HTML 502", fault: fakeconnect.Fault{Status: 502, Body: html, ContentType: "text/html"},
			wantStatus: 502, wantType: "text/html", wantBody: html},
		{name: "not an array", fault: fakeconnect.Fault{Body: `{"data": []}`}, wantStatus: 200, wantBody: `{"data": []}`},
		{name: "empty array", fault: fakeconnect.Fault{Body: `[]`}, wantStatus: 200, wantBody: `[]`},
		{name: "header only", fault: fakeconnect.Fault{RetryAfter: "1"}, wantStatus: 200, wantRetry: "1", wantContact: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 3})
			s.Fail(tt.fault)
			r := httptest.NewRequest(http.MethodGet, "/api/connect/contacts", nil)
			r.Header.Set("X-Api-Key", key)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)

			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			wantType := tt.wantType
			if wantType == "" {
				wantType = "application/json"
			}
			if got := w.Header().Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type %q, want %q", got, wantType)
			}
			if got := w.Header().Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After %q, want %q", got, tt.wantRetry)
			}
			switch {
			case tt.wantContact:
				decodeList(t, w.Body.Bytes())
			case tt.wantBody != "":
				if w.Body.String() != tt.wantBody {
					t.Errorf("body %q, want %q", w.Body, tt.wantBody)
				}
			default:
				if got, want := errorMessage(t, w.Body.Bytes()), http.StatusText(tt.wantStatus); got != want {
					t.Errorf("error %q, want %q", got, want)
				}
			}

			// The fault is used up: the next request is served normally.
			if w := do(t, s, http.MethodGet, "/api/connect/contacts", key, ""); w.Code != http.StatusOK || len(decodeList(t, w.Body.Bytes())) != 3 {
				t.Errorf("after the fault: status %d, body %.100s", w.Code, w.Body)
			}
		})
	}
}

func TestFaultQueueAndEndpoints(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 1})
	s.Fail(fakeconnect.Fault{Endpoint: "POST /api/connect/contacts", Status: 500})
	s.Fail(fakeconnect.Fault{Endpoint: "/api/connect/contacts", Status: 503})
	s.Fail(fakeconnect.Fault{Endpoint: "/api/connect/contacts", Status: 502})
	s.Fail(fakeconnect.Fault{Status: 429})

	steps := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/api/connect/me", 429},       // only the any-endpoint fault matches
		{http.MethodGet, "/api/connect/contacts", 503}, // skips the POST-only fault
		{http.MethodGet, "/api/connect/contacts", 502}, // queue order
		{http.MethodGet, "/api/connect/contacts", 200},
		{http.MethodPost, "/api/connect/contacts", 500},
		{http.MethodPost, "/api/connect/contacts", 400}, // empty body: the real validation
	}
	for i, st := range steps {
		if w := do(t, s, st.method, st.path, key, ""); w.Code != st.want {
			t.Errorf("step %d, %s %s: status %d, want %d", i, st.method, st.path, w.Code, st.want)
		}
	}
}

func TestFaultBeforeAuth(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key})
	s.Fail(fakeconnect.Fault{Status: 503})
	if w := do(t, s, http.MethodGet, "/api/connect/me", "", ""); w.Code != 503 {
		t.Errorf("status %d, want 503 from the fault, as a proxy answers before the API", w.Code)
	}
}

func TestFaultHang(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 3})
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.Fail(fakeconnect.Fault{Endpoint: "/api/connect/contacts", Hang: true})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := get(ctx, t, srv.URL+"/api/connect/contacts")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the deadline to expire", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("returned after %v, before the deadline", d)
	}
	if resp, _, err := get(context.Background(), t, srv.URL+"/api/connect/contacts"); err != nil || resp.StatusCode != 200 {
		t.Errorf("after the hang: %v, %v", resp, err)
	}
}

func TestFaultTruncate(t *testing.T) {
	tests := []struct {
		name     string
		fault    fakeconnect.Fault
		wantBody string // prefix the client receives
	}{
		{"contacts", fakeconnect.Fault{Truncate: 10000}, `[{"id":1,`},
		{"short body", fakeconnect.Fault{Truncate: 1 << 20, Body: `[{"id": 1}]`}, `[{"id": 1}]`},
		{"error body", fakeconnect.Fault{Truncate: 5, Status: 500}, `{"err`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 1000})
			srv := httptest.NewServer(s)
			defer srv.Close()
			s.Fail(tt.fault)

			_, body, err := get(context.Background(), t, srv.URL+"/api/connect/contacts")
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("err %v, want an unexpected EOF", err)
			}
			if !strings.HasPrefix(string(body), tt.wantBody) {
				t.Errorf("body starts %.40q, want %q", body, tt.wantBody)
			}
			if tt.fault.Truncate < 1<<20 && len(body) > tt.fault.Truncate {
				t.Errorf("received %d bytes, more than %d", len(body), tt.fault.Truncate)
			}
			if json.Valid(body) && tt.fault.Body == "" {
				t.Error("truncated body is valid JSON")
			}
		})
	}
}
