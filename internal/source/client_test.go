package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/secret/secrettest"
)

const testKey = "sk_live_test_0123456789abcdef"

// testNow is the clock tests give the client, for Retry-After dates.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// harness is a client wired to a test server whose handlers answer the
// requests in turn, the last one answering every request after it.
type harness struct {
	client   *Client
	server   *httptest.Server
	requests atomic.Int32
	waits    []time.Duration // the backoff waits, in order, not slept
	logs     bytes.Buffer
}

func newHarness(t testing.TB, opts Options, handlers ...http.HandlerFunc) *harness {
	t.Helper()
	h := &harness{}
	h.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(h.requests.Add(1)) - 1
		handlers[min(i, len(handlers)-1)](w, r)
	}))
	t.Cleanup(h.server.Close)
	if opts.BaseURL == "" {
		opts.BaseURL = h.server.URL
	}
	if opts.APIKey.IsZero() {
		opts.APIKey = secret.New(testKey)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	opts.Logger = slog.New(slog.NewTextHandler(&h.logs, nil))
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return testNow }
	c.sleep = func(ctx context.Context, d time.Duration) error {
		h.waits = append(h.waits, d)
		return ctx.Err()
	}
	h.client = c
	return h
}

// contacts runs Contacts and collects what it handed over.
func (h *harness) contacts(ctx context.Context, query string) ([]string, error) {
	var got []string
	err := h.client.Contacts(ctx, query, func(raw json.RawMessage) error {
		got = append(got, string(raw))
		return nil
	})
	return got, err
}

// respond answers with a status, a Content-Type and a body.
func respond(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// apiError answers with the API's error shape.
func apiError(status int, message string) http.HandlerFunc {
	body, _ := json.Marshal(map[string]string{"error": message})
	return respond(status, "application/json", string(body))
}

// drop sends a 200 that announces more body than it sends, then closes
// the connection: a connection that broke mid-body.
func drop(partial string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(partial)+1000, partial)
		buf.Flush()
	}
}

// hang answers nothing until the client gives up. It reads the request
// body first: until then, the server does not notice the client leaving.
func hang(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

func TestNew(t *testing.T) {
	key := secret.New(testKey)
	tests := []struct {
		name string
		opts Options
		want string // error substring; empty for success
	}{
		{"defaults", Options{APIKey: key}, ""},
		{"no key", Options{}, "source: missing API key"},
		{"negative timeout", Options{APIKey: key, Timeout: -time.Second}, "negative timeout"},
		{"negative retries", Options{APIKey: key, MaxRetries: -1}, "negative max retries"},
		{"not http", Options{APIKey: key, BaseURL: "ftp://example.com"}, "not an http or https URL"},
		{"no host", Options{APIKey: key, BaseURL: "/api"}, "not an http or https URL"},
		{"unparsable", Options{APIKey: key, BaseURL: "http://[::1"}, "source: base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.base.String() != DefaultBaseURL || c.timeout != DefaultTimeout || c.userAgent != "connect-sync" {
					t.Errorf("defaults not applied: %s %v %q", c.base, c.timeout, c.userAgent)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	type call struct {
		name  string
		run   func(*Client) error
		path  string
		query string // raw query
		body  string // for POST
	}
	ctx := context.Background()
	list := func(query string) func(*Client) error {
		return func(c *Client) error {
			return c.Contacts(ctx, query, func(json.RawMessage) error { return nil })
		}
	}
	tests := []call{
		{name: "contacts", run: list(""), path: "/api/connect/contacts"},
		{name: "query", run: list("Ann & Zoë/+1"), path: "/api/connect/contacts", query: "query=Ann+%26+Zo%C3%AB%2F%2B1"},
		{name: "lead statuses", run: func(c *Client) error { _, err := c.LeadStatuses(ctx); return err },
			path: "/api/connect/contacts/lead-statuses"},
		{name: "me", run: func(c *Client) error { _, err := c.Me(ctx); return err }, path: "/api/connect/me"},
		{name: "create", run: func(c *Client) error {
			_, err := c.CreateContact(ctx, map[string]any{"email": "jane@example.com", "leadStatus": 2})
			return err
		}, path: "/api/connect/contacts", body: `{"email":"jane@example.com","leadStatus":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			var body []byte
			h := newHarness(t, Options{UserAgent: "connect-sync/1.2.3"}, func(w http.ResponseWriter, r *http.Request) {
				got = r
				body, _ = io.ReadAll(r.Body)
				switch r.URL.Path {
				case "/api/connect/me":
					io.WriteString(w, `{"details":{"name":"Ann","email":"ann@example.com"},"workspace":{"name":"Acme"}}`)
				case "/api/connect/contacts/lead-statuses":
					io.WriteString(w, `[]`)
				default:
					if r.Method == http.MethodPost {
						io.WriteString(w, `{"id":2}`)
						return
					}
					io.WriteString(w, `[]`)
				}
			})
			if err := tt.run(h.client); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"X-Api-Key":    testKey,
				"Accept":       "application/json",
				"User-Agent":   "connect-sync/1.2.3",
				"Content-Type": "",
			}
			wantMethod := http.MethodGet
			if tt.body != "" {
				want["Content-Type"] = "application/json"
				wantMethod = http.MethodPost
			}
			for k, v := range want {
				if got.Header.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.Header.Get(k), v)
				}
			}
			if got.Method != wantMethod || got.URL.Path != tt.path || got.URL.RawQuery != tt.query {
				t.Errorf("request %s %s?%s, want %s %s?%s", got.Method, got.URL.Path, got.URL.RawQuery, wantMethod, tt.path, tt.query)
			}
			if string(body) != tt.body {
				t.Errorf("body %s, want %s", body, tt.body)
			}
		})
	}
}

func TestBaseURLForms(t *testing.T) {
	for _, suffix := range []string{"", "/", "/prefix", "/prefix/"} {
		t.Run(suffix, func(t *testing.T) {
			var path string
			h := newHarness(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				io.WriteString(w, "[]")
			})
			c, err := New(Options{BaseURL: h.server.URL + suffix, APIKey: secret.New(testKey)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.LeadStatuses(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSuffix(suffix, "/") + "/api/connect/contacts/lead-statuses"
			if path != want {
				t.Errorf("path %q, want %q", path, want)
			}
		})
	}
}

func TestLeadStatuses(t *testing.T) {
	h := newHarness(t, Options{}, respond(200, "application/json",
		`[{"id": 1, "type": "lead", "label": "New Lead", "color": "#3B82F6", "order": 1},
		  {"id": "q-2", "type": "qualified", "label": "Qualified", "color": null, "order": "2", "extra": true}]`))
	got, err := h.client.LeadStatuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []contact.LeadStatus{
		{ID: "1", Type: "lead", Label: "New Lead", Color: "#3B82F6", Order: 1},
		{ID: "q-2", Type: "qualified", Label: "Qualified", Order: 2},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestMe(t *testing.T) {
	h := newHarness(t, Options{}, respond(200, "application/json",
		`{"details": {"name": "Ann Lee", "email": "ann@example.com", "id": 7}, "workspace": {"name": "Acme"}}`))
	got, err := h.client.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Me{UserName: "Ann Lee", UserEmail: "ann@example.com", Workspace: "Acme"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestCreateContact(t *testing.T) {
	h := newHarness(t, Options{}, respond(201, "application/json",
		`{"id": 2, "email": "jane@example.com", "firstName": "Jane", "createdAt": "2023-01-15T10:30:00Z"}`))
	got, err := h.client.CreateContact(context.Background(), map[string]any{"email": "jane@example.com", "firstName": "Jane"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "2" || got.Email != "jane@example.com" || got.FirstName != "Jane" {
		t.Errorf("got %+v", got)
	}
}

func TestResponseErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		run     func(*Client) error
		want    string
	}{
		{"lead statuses not a list", respond(200, "application/json", `{"data": []}`),
			func(c *Client) error { _, err := c.LeadStatuses(ctx); return err },
			"source: lead-statuses: response is not a JSON array (got a JSON object, status 200)"},
		{"lead status without id", respond(200, "application/json", `[{"label": "x"}]`),
			func(c *Client) error { _, err := c.LeadStatuses(ctx); return err },
			"source: lead-statuses: lead status 1 in the response has no id"},
		{"me as HTML", respond(200, "text/html", `<html>maintenance</html>`),
			func(c *Client) error { _, err := c.Me(ctx); return err },
			"source: me: response is not a JSON object (got HTML, status 200)"},
		{"me truncated", respond(200, "application/json", `{"details": {"name": "A`),
			func(c *Client) error { _, err := c.Me(ctx); return err },
			"source: me: decode response: unexpected EOF"},
		{"create invalid", apiError(400, "Invalid email"),
			func(c *Client) error { _, err := c.CreateContact(ctx, map[string]any{"email": "x"}); return err },
			"source: create-contact: the Connect API answered 400: Invalid email"},
		{"create without id", respond(201, "application/json", `{"email": "a@example.com"}`),
			func(c *Client) error {
				_, err := c.CreateContact(ctx, map[string]any{"email": "a@example.com"})
				return err
			},
			"source: create-contact: contact: missing id"},
		{"create unencodable", respond(201, "application/json", `{"id": 1}`),
			func(c *Client) error { _, err := c.CreateContact(ctx, map[string]any{"note": func() {}}); return err },
			"source: create-contact: encode fields: json: unsupported type: func()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{MaxRetries: 2}, tt.handler)
			err := tt.run(h.client)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
			if len(h.waits) != 0 {
				t.Errorf("retried %d times, want none", len(h.waits))
			}
		})
	}
}

// TestKeyNeverShown checks errors and logs of every kind of failure for
// the API key and the other secrets the client is given, including from a
// server that echoes them back: as they are, upper-cased, cut after 200
// bytes with a secret's start at the end, or ten characters of the middle.
func TestKeyNeverShown(t *testing.T) {
	const other = "whsec_OtherSecretOfTheWorkspace42"
	for name, echo := range secrettest.Echoes {
		quote := func(r *http.Request) string { return echo(r.Header.Get("X-Api-Key")) + " and " + echo(other) }
		tests := []struct {
			name    string
			handler http.HandlerFunc
		}{
			{"401", func(w http.ResponseWriter, r *http.Request) { apiError(401, quote(r))(w, r) }},
			{"400", func(w http.ResponseWriter, r *http.Request) { apiError(400, quote(r))(w, r) }},
			{"500", func(w http.ResponseWriter, r *http.Request) { apiError(500, quote(r))(w, r) }},
			{"text", func(w http.ResponseWriter, r *http.Request) {
				respond(502, "text/plain", "upstream said "+quote(r))(w, r)
			}},
			{"redirect", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://elsewhere.example/"+url.PathEscape(quote(r)), http.StatusFound)
			}},
			{"malformed status", func(w http.ResponseWriter, r *http.Request) {
				conn, _, _ := w.(http.Hijacker).Hijack()
				io.WriteString(conn, "HTTP/1.1 "+strings.ReplaceAll(quote(r), " ", "_")+"\r\n\r\n")
				conn.Close()
			}},
			{"HTML", respond(200, "text/html", "<html></html>")},
			{"hang", hang},
			{"drop", drop("[")},
		}
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				opts := Options{MaxRetries: 1, Timeout: 100 * time.Millisecond, Redactor: secret.NewRedactor(secret.New(other))}
				h := newHarness(t, opts, tt.handler)
				_, err := h.contacts(context.Background(), "")
				if err == nil {
					t.Fatal("no error")
				}
				for what, text := range map[string]string{"error": err.Error(), "logs": h.logs.String()} {
					for _, s := range []string{testKey, other} {
						if leak := secrettest.Leak(text, s); leak != "" {
							t.Errorf("%q of a secret is in the %s: %s", leak, what, text)
						}
					}
				}
			})
		}
	}
}

// Secrets as short as "api" or "1" (a header value, a password) are
// redacted from what the API says, never from the client's own words or
// the URLs it built: run over a whole error, they made one read
// `Get "http://127.0.0.1:…/[redacted]/[redacted]/[redacted]": … after [redacted] [redacted]`.
func TestOwnWordsKept(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string // with the server's address as ADDR
	}{
		{"the API's message", apiError(400, "api 1 contacts refused"),
			"source: contacts: the Connect API answered 400: [redacted] [redacted] [redacted] refused"},
		{"a body cut short", drop(`[{"id":1,"email":"a@example.com"},`),
			"source: contacts: response ended before the contact array did (after 1 contacts): unexpected EOF"},
		{"a redirect elsewhere", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://api.example/api/1/contacts", http.StatusFound)
		}, `source: contacts: Get "http://ADDR/api/connect/contacts": redirect to another host or to plain http refused, it would receive the API key (http://[redacted].example)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			words := secret.NewRedactor(secret.New("api"), secret.New("1"), secret.New("contacts"), secret.New("connect"))
			h := newHarness(t, Options{Redactor: words}, tt.handler)
			_, err := h.contacts(context.Background(), "")
			want := strings.ReplaceAll(tt.want, "ADDR", strings.TrimPrefix(h.server.URL, "http://"))
			if err == nil || err.Error() != want {
				t.Errorf("error\n got %v\nwant %s", err, want)
			}
		})
	}
}

// A base URL with credentials is refused: net/http would send them as
// basic auth, and errors quote the URL.
func TestBaseURLWithCredentialsRefused(t *testing.T) {
	_, err := New(Options{BaseURL: "https://user:pa55word@api.example.com", APIKey: secret.New(testKey)})
	if err == nil || err.Error() != "source: base URL must not hold credentials" {
		t.Errorf("err = %v", err)
	}
}

func TestRedirectToAnotherHostRefused(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("X-Api-Key") != "")
		io.WriteString(w, "[]")
	}))
	defer other.Close()
	h := newHarness(t, Options{MaxRetries: 2}, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	})
	_, err := h.contacts(context.Background(), "")
	if !errors.Is(err, errRedirect) {
		t.Errorf("err = %v, want a refused redirect", err)
	}
	if leaked.Load() {
		t.Error("the other host received the API key")
	}
	if h.requests.Load() != 1 {
		t.Errorf("%d requests, want 1", h.requests.Load())
	}
}
