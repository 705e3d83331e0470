package webhook

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// testSecret is the secret of the Standard Webhooks test vector.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// request is what a receiver got.
type request struct {
	Method, Path             string
	ID, Timestamp, Signature string
	Header                   http.Header
	Body                     []byte
	Attempt                  int // how often this webhook-id came, this time included
}

// receiver records the requests it gets and answers with respond (204
// when nil).
type receiver struct {
	*httptest.Server
	respond func(w http.ResponseWriter, req request)

	mu       sync.Mutex
	requests []request
	seen     map[string]int
}

func newReceiver(t testing.TB, respond func(w http.ResponseWriter, req request)) *receiver {
	rc := &receiver{respond: respond, seen: map[string]int{}}
	rc.Server = httptest.NewServer(rc)
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id := r.Header.Get("Webhook-Id")
	rc.mu.Lock()
	rc.seen[id]++
	req := request{
		Method: r.Method, Path: r.URL.Path,
		ID: id, Timestamp: r.Header.Get("Webhook-Timestamp"), Signature: r.Header.Get("Webhook-Signature"),
		Header: r.Header.Clone(), Body: body, Attempt: rc.seen[id],
	}
	rc.requests = append(rc.requests, req)
	rc.mu.Unlock()
	if rc.respond == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rc.respond(w, req)
}

// attempts returns how often the webhook-id came.
func (rc *receiver) attempts(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.seen[id]
}

func (rc *receiver) got() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.requests...)
}

// harness is a sink whose backoff never waits: it records the waits and
// returns at once, or with the error of its context, as a real sleep
// that is interrupted would.
type harness struct {
	*Sink
	logs bytes.Buffer

	mu    sync.Mutex
	waits []time.Duration
}

// open opens a sink for url with the test secret, after edit changes the
// default config.
func open(t testing.TB, url string, edit func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.URL, cfg.Secret = url, secret.New(testSecret)
	if edit != nil {
		edit(cfg)
	}
	h := &harness{}
	s, err := cfg.Open(sinks.Env{Name: "hook", Workspace: "acme", Logger: slog.New(slog.NewTextHandler(&h.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.Sink = s.(*Sink)
	h.sleep = func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.waits = append(h.waits, d)
		h.mu.Unlock()
		return ctx.Err()
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func (h *harness) recordedWaits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.waits...)
}

// stepClock returns a clock that starts at start and moves one second on
// every reading, so that every attempt has its own webhook-timestamp.
func stepClock(start time.Time) func() time.Time {
	var (
		mu sync.Mutex
		n  time.Duration
	)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return start.Add(n * time.Second)
	}
}
