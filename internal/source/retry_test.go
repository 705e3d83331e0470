package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/backoff"
)

// retryAfter answers status with a Retry-After header.
func retryAfterHandler(status int, header string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", header)
		apiError(status, "slow down")(w, r)
	}
}

var ok = respond(200, "application/json", `[{"id":1}]`)

func TestContactsRetries(t *testing.T) {
	tests := []struct {
		name     string
		handlers []http.HandlerFunc
		want     string // error substring; empty for success
		requests int32
		waits    []time.Duration // exact waits; nil to check only the backoff bounds
	}{
		{name: "500 then success", handlers: []http.HandlerFunc{apiError(500, "boom"), ok}, requests: 2},
		{name: "502 503 504 then success", handlers: []http.HandlerFunc{
			respond(502, "text/html", "<html>bad gateway</html>"), apiError(503, "down"), apiError(504, "slow"), ok,
		}, requests: 4},
		{name: "429 without Retry-After", handlers: []http.HandlerFunc{apiError(429, "slow down"), ok}, requests: 2},
		{name: "429 Retry-After seconds", handlers: []http.HandlerFunc{retryAfterHandler(429, "7"), ok},
			requests: 2, waits: []time.Duration{7 * time.Second}},
		{name: "429 Retry-After date", handlers: []http.HandlerFunc{
			retryAfterHandler(429, testNow.Add(30*time.Second).Format(http.TimeFormat)), ok,
		}, requests: 2, waits: []time.Duration{30 * time.Second}},
		{name: "503 Retry-After capped", handlers: []http.HandlerFunc{retryAfterHandler(503, "86400"), ok},
			requests: 2, waits: []time.Duration{retries.MaxRetryAfter}},
		{name: "network error then success", handlers: []http.HandlerFunc{drop(""), ok}, requests: 2},
		{name: "retries exhausted", handlers: []http.HandlerFunc{apiError(500, "boom")},
			want: "source: contacts: giving up after 4 attempts: the Connect API answered 500: boom", requests: 4},
		{name: "401 not retried", handlers: []http.HandlerFunc{apiError(401, "Invalid API key")},
			want: "source: contacts: the Connect API rejected the API key (401)", requests: 1},
		{name: "400 not retried", handlers: []http.HandlerFunc{apiError(400, "Bad query")},
			want: "source: contacts: the Connect API answered 400: Bad query", requests: 1},
		{name: "403 not retried", handlers: []http.HandlerFunc{apiError(403, "Forbidden")},
			want: "source: contacts: the Connect API answered 403: Forbidden", requests: 1},
		{name: "404 without a body", handlers: []http.HandlerFunc{respond(404, "text/plain", "")},
			want: "source: contacts: the Connect API answered 404 Not Found", requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{MaxRetries: 3}, tt.handlers...)
			got, err := h.contacts(context.Background(), "")
			if tt.want == "" {
				if err != nil || len(got) != 1 {
					t.Fatalf("got %d contacts, err %v; want 1", len(got), err)
				}
			} else if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
			if n := h.requests.Load(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			if len(h.waits) != int(tt.requests)-1 {
				t.Fatalf("waited %d times, want %d", len(h.waits), tt.requests-1)
			}
			for i, wait := range h.waits {
				if tt.waits != nil && wait != tt.waits[i] {
					t.Errorf("wait %d = %v, want %v", i+1, wait, tt.waits[i])
				}
				if tt.waits == nil && (wait < 0 || wait > retries.Ceiling(i+1)) {
					t.Errorf("wait %d = %v, want within [0, %v]", i+1, wait, retries.Ceiling(i+1))
				}
			}
		})
	}
}

func TestErrorKinds(t *testing.T) {
	h := newHarness(t, Options{}, apiError(401, "Invalid API key"))
	_, err := h.contacts(context.Background(), "")
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("401: %v is not ErrUnauthorized", err)
	}
	h = newHarness(t, Options{}, apiError(400, "Invalid lead status"))
	_, err = h.contacts(context.Background(), "")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || *apiErr != (APIError{Endpoint: "contacts", Status: 400, Message: "Invalid lead status"}) {
		t.Errorf("400: %v is not the APIError", err)
	}
}

func TestCreateContactRetries(t *testing.T) {
	created := respond(201, "application/json", `{"id":2,"email":"jane@example.com"}`)
	tests := []struct {
		name     string
		handlers []http.HandlerFunc
		requests int32
		ok       bool
	}{
		{"429 retried", []http.HandlerFunc{apiError(429, "slow down"), created}, 2, true},
		{"503 retried", []http.HandlerFunc{apiError(503, "down"), created}, 2, true},
		{"500 not retried", []http.HandlerFunc{apiError(500, "boom"), created}, 1, false},
		{"502 not retried", []http.HandlerFunc{apiError(502, "bad gateway"), created}, 1, false},
		{"dropped response not retried", []http.HandlerFunc{drop(`{"id":`), created}, 1, false},
		{"400 not retried", []http.HandlerFunc{apiError(400, "Invalid email"), created}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{MaxRetries: 3}, tt.handlers...)
			_, err := h.client.CreateContact(context.Background(), map[string]any{"email": "jane@example.com"})
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want success %v", err, tt.ok)
			}
			if n := h.requests.Load(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestCreateContactRetriesRefusedConnection(t *testing.T) {
	h := newHarness(t, Options{MaxRetries: 2}, ok)
	h.server.Close()
	_, err := h.client.CreateContact(context.Background(), map[string]any{"email": "jane@example.com"})
	var op *net.OpError
	if !errors.As(err, &op) || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Errorf("err = %v, want a connection error after 3 attempts", err)
	}
}

func TestTimeout(t *testing.T) {
	tests := []struct {
		name     string
		run      func(*Client) error
		requests int32
	}{
		{"GET retried", func(c *Client) error { _, err := c.Me(context.Background()); return err }, 2},
		{"POST not retried", func(c *Client) error {
			_, err := c.CreateContact(context.Background(), map[string]any{"email": "a@example.com"})
			return err
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{MaxRetries: 1, Timeout: 100 * time.Millisecond}, hang)
			err := tt.run(h.client)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no complete response within 100ms") {
				t.Errorf("err = %v, want a timeout", err)
			}
			if n := h.requests.Load(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	h := newHarness(t, Options{MaxRetries: 3}, retryAfterHandler(503, "3600"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.client.sleep = func(ctx context.Context, d time.Duration) error {
		time.AfterFunc(10*time.Millisecond, cancel)
		return backoff.Sleep(ctx, d) // the real one: d is two minutes
	}
	_, err := h.contacts(ctx, "")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting to retry after: the Connect API answered 503") {
		t.Errorf("err = %v, want canceled while waiting", err)
	}
	if h.requests.Load() != 1 {
		t.Errorf("%d requests, want 1", h.requests.Load())
	}
}

func TestCanceledNotRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := newHarness(t, Options{MaxRetries: 3}, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		hang(w, r)
	})
	_, err := h.contacts(ctx, "")
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "no complete response") {
		t.Errorf("err = %v, want canceled", err)
	}
	if h.requests.Load() != 1 || len(h.waits) != 0 {
		t.Errorf("%d requests and %d waits, want 1 and none", h.requests.Load(), len(h.waits))
	}
}

func TestRetryLogged(t *testing.T) {
	h := newHarness(t, Options{MaxRetries: 1}, retryAfterHandler(429, "5"), ok)
	if _, err := h.contacts(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	logs := h.logs.String()
	for _, want := range []string{"level=WARN", "endpoint=contacts", "attempt=1", "wait=5s", `reason="the Connect API answered 429: slow down"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

func TestObserveSeesEveryAttempt(t *testing.T) {
	type attempt struct {
		endpoint string
		status   int
	}
	var got []attempt
	opts := Options{MaxRetries: 3, Observe: func(endpoint string, status int, elapsed time.Duration) {
		if elapsed < 0 {
			t.Errorf("negative duration %v", elapsed)
		}
		got = append(got, attempt{endpoint, status})
	}}
	h := newHarness(t, opts, apiError(503, "down"), drop(""), ok)
	if _, err := h.contacts(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	// The dropped connection sent a 200 header before breaking, so it
	// counts as a 200 whose body failed.
	want := []attempt{{"contacts", 503}, {"contacts", 200}, {"contacts", 200}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}
