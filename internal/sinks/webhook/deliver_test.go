package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// status answers every request with code, the header and the body.
func status(code int, header http.Header, body string) func(http.ResponseWriter, request) {
	return func(w http.ResponseWriter, _ request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}
}

// refusedURL returns the URL of a port where nothing listens.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/hook"
}

// silentURL returns the URL of a server that never answers.
func silentURL(t *testing.T) string {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		// Once the body is read, the server notices the client hanging up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	return srv.URL + "/hook"
}

// TestClassification delivers three changes one at a time (max_retries 2)
// to receivers that always answer the same way.
func TestClassification(t *testing.T) {
	tests := []struct {
		name     string
		respond  func(http.ResponseWriter, request)
		url      func(*testing.T) string // instead of the receiver
		timeout  time.Duration           // instead of the default
		want     error                   // the sentinel of every change; nil: acknowledged
		requests int                     // to the receiver's /hook
		msg      string                  // the first change's error
		waits    []time.Duration         // when the receiver sets them
	}{
		{name: "200", respond: status(200, nil, "ok"), requests: 3},
		{name: "204", respond: status(204, nil, ""), requests: 3},
		{name: "301 not followed", respond: status(301, http.Header{"Location": {"/moved?token=abc"}}, ""),
			want: sinks.ErrUnavailable, requests: 1,
			msg: "destination unavailable: 301 Moved Permanently to http://HOST/… (redirects are not followed: set url to where it points)"},
		{name: "401", respond: status(401, nil, "bad token"), want: sinks.ErrUnavailable, requests: 1, msg: "destination unavailable: 401 Unauthorized: bad token"},
		{name: "400", respond: status(400, nil, "{\"error\":\n  \"bad email\"}"), want: sinks.ErrPermanent, requests: 3,
			msg: `refused for good: 400 Bad Request: {"error": "bad email"}`},
		{name: "404", respond: status(404, nil, ""), want: sinks.ErrUnavailable, requests: 1, msg: "destination unavailable: 404 Not Found"},
		{name: "422", respond: status(422, nil, ""), want: sinks.ErrPermanent, requests: 3, msg: "refused for good: 422 Unprocessable Entity"},
		{name: "408", respond: status(408, nil, ""), want: sinks.ErrUnavailable, requests: 3,
			msg: "destination unavailable: 408 Request Timeout (3 attempts)"},
		{name: "410", respond: status(410, nil, "unsubscribed"), want: sinks.ErrGone, requests: 1,
			msg: "destination gone: 410 Gone: unsubscribed"},
		{name: "425", respond: status(425, nil, ""), want: sinks.ErrUnavailable, requests: 3, msg: "425 Too Early (3 attempts)"},
		{name: "429 Retry-After", respond: status(429, http.Header{"Retry-After": {"7"}}, "slow down"),
			want: sinks.ErrUnavailable, requests: 3, msg: "429 Too Many Requests: slow down (3 attempts)",
			waits: []time.Duration{7 * time.Second, 7 * time.Second}},
		{name: "500", respond: status(500, nil, "boom"), want: sinks.ErrUnavailable, requests: 3,
			msg: "destination unavailable: 500 Internal Server Error: boom (3 attempts)"},
		{name: "503", respond: status(503, nil, ""), want: sinks.ErrUnavailable, requests: 3, msg: "503 Service Unavailable (3 attempts)"},
		{name: "timeout", url: silentURL, timeout: 20 * time.Millisecond, want: sinks.ErrUnavailable,
			msg: "destination unavailable: no response within 20ms: context deadline exceeded (3 attempts)"},
		{name: "connection refused", url: refusedURL, want: sinks.ErrUnavailable, msg: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, tt.respond)
			url := rc.URL + "/hook"
			if tt.url != nil {
				url = tt.url(t)
			}
			h := open(t, url, func(c *Config) {
				c.Concurrency, c.MaxRetries = 1, 2
				if tt.timeout > 0 {
					c.Timeout = tt.timeout
				}
			})
			batch := eventtest.Changes(t, 3, contact.Created)
			errs := h.Deliver(t.Context(), batch)

			for i, err := range errs {
				if !errors.Is(err, tt.want) {
					t.Errorf("change %d: %v, want %v", i, err, tt.want)
				}
			}
			msg := strings.ReplaceAll(tt.msg, "HOST", strings.TrimPrefix(rc.URL, "http://"))
			if tt.want != nil && (!strings.HasPrefix(errs[0].Error(), "webhook: POST "+h.target+": ") || !strings.Contains(errs[0].Error(), msg)) {
				t.Errorf("error %q, want webhook: POST %s: ...%s", errs[0], h.target, msg)
			}
			// A halted batch does not send the rest.
			if tt.want == sinks.ErrUnavailable || tt.want == sinks.ErrGone {
				for _, err := range errs[1:] {
					if !strings.Contains(err.Error(), "not sent: msg_created_1 failed") {
						t.Errorf("unsent change: %v", err)
					}
				}
			}
			var hook int
			for _, req := range rc.got() {
				if req.Path != "/hook" {
					t.Errorf("request to %s: the redirect was followed", req.Path)
				}
				hook++
			}
			if tt.url == nil && hook != tt.requests {
				t.Errorf("%d requests, want %d", hook, tt.requests)
			}
			if tt.waits != nil && !slices.Equal(h.recordedWaits(), tt.waits) {
				t.Errorf("waits %v, want %v", h.recordedWaits(), tt.waits)
			}
		})
	}
}

// contactOf returns the id of the contact in an event body. Receivers
// call it, so it reports with Errorf.
func contactOf(t *testing.T, body []byte) string {
	t.Helper()
	var ev struct {
		Data struct {
			Contact struct{ ID json.Number }
		}
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Errorf("event body: %v", err)
	}
	return ev.Data.Contact.ID.String()
}

// A receiver that fails the first attempts of every event gets each event
// in the end, every attempt with the same webhook-id and body, a newer
// timestamp and a valid signature, and each contact's events in order.
func TestRetriesKeepIDAndOrder(t *testing.T) {
	const failures = 2
	codes := []int{503, 500, 429, 408}
	rc := newReceiver(t, func(w http.ResponseWriter, req request) {
		if req.Attempt <= failures {
			w.WriteHeader(codes[len(req.ID)%len(codes)])
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	h := open(t, rc.URL, nil)
	h.now = stepClock(time.Now())
	batches := [][]contact.Change{
		{eventtest.Change(t, contact.Created, "1"), eventtest.Change(t, contact.Created, "2"), eventtest.Change(t, contact.Created, "3")},
		{eventtest.Change(t, contact.Updated, "1"), eventtest.Change(t, contact.Deleted, "2")},
		{eventtest.Change(t, contact.Deleted, "1"), eventtest.Change(t, contact.Updated, "3")},
	}
	wantOrder := map[string][]string{}
	for _, batch := range batches {
		for i, err := range h.Deliver(t.Context(), batch) {
			if err != nil {
				t.Fatalf("%s: %v", batch[i].ID, err)
			}
			wantOrder[batch[i].Contact.ID] = append(wantOrder[batch[i].Contact.ID], batch[i].ID)
		}
	}

	gotOrder := map[string][]string{}
	first := map[string]request{}
	lastTimestamp := map[string]int64{}
	for _, req := range rc.got() {
		ts, err := strconv.ParseInt(req.Timestamp, 10, 64)
		if err != nil {
			t.Fatalf("webhook-timestamp %q: %v", req.Timestamp, err)
		}
		if want := h.sign(req.ID, ts, req.Body); req.Signature != want {
			t.Errorf("%s attempt %d: signature %s, want %s", req.ID, req.Attempt, req.Signature, want)
		}
		if ts <= lastTimestamp[req.ID] {
			t.Errorf("%s attempt %d: timestamp %d not after the previous attempt's %d", req.ID, req.Attempt, ts, lastTimestamp[req.ID])
		}
		lastTimestamp[req.ID] = ts
		if f, ok := first[req.ID]; ok && string(f.Body) != string(req.Body) {
			t.Errorf("%s attempt %d: body differs from the first attempt's", req.ID, req.Attempt)
		} else if !ok {
			first[req.ID] = req
		}
		if req.Attempt == failures+1 {
			c := contactOf(t, req.Body)
			gotOrder[c] = append(gotOrder[c], req.ID)
		}
	}
	for c, want := range wantOrder {
		if !slices.Equal(gotOrder[c], want) {
			t.Errorf("contact %s: acknowledged %v, want %v", c, gotOrder[c], want)
		}
	}
	for id := range first {
		if n := rc.attempts(id); n != failures+1 {
			t.Errorf("%s: %d attempts, want %d", id, n, failures+1)
		}
	}
	waits := h.recordedWaits()
	if len(waits) != 7*failures {
		t.Errorf("%d backoff waits, want %d", len(waits), 7*failures)
	}
	for _, w := range waits {
		if w < 0 || w > retries.Ceiling(failures) {
			t.Errorf("wait %v outside [0, %v]", w, retries.Ceiling(failures))
		}
	}
}

func TestMaxAge(t *testing.T) {
	rc := newReceiver(t, status(503, nil, ""))
	h := open(t, rc.URL, func(c *Config) { c.Concurrency, c.MaxRetries = 1, 1 })
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }
	old, young := eventtest.Change(t, contact.Created, "1"), eventtest.Change(t, contact.Created, "2")
	old.DetectedAt, young.DetectedAt = now.Add(-72*time.Hour-time.Second), now.Add(-71*time.Hour)

	errs := h.Deliver(t.Context(), []contact.Change{old, young})
	want := "webhook: POST " + rc.URL + ": refused for good: failing for longer than max_age 72h0m0s: 503 Service Unavailable (2 attempts)"
	if !errors.Is(errs[0], sinks.ErrPermanent) || errors.Is(errs[0], sinks.ErrUnavailable) || errs[0].Error() != want {
		t.Errorf("old change: %v, want %s", errs[0], want)
	}
	want = "webhook: POST " + rc.URL + ": not sent: msg_created_1 failed: destination unavailable: 503 Service Unavailable (2 attempts)"
	if !errors.Is(errs[1], sinks.ErrUnavailable) || errors.Is(errs[1], sinks.ErrPermanent) || errs[1].Error() != want {
		t.Errorf("unsent young change: %v, want %s", errs[1], want)
	}

	errs = h.Deliver(t.Context(), []contact.Change{young})
	want = "webhook: POST " + rc.URL + ": destination unavailable: 503 Service Unavailable (2 attempts)"
	if !errors.Is(errs[0], sinks.ErrUnavailable) || errs[0].Error() != want {
		t.Errorf("young change: %v, want %s", errs[0], want)
	}
}

// Once a change has used up its retries (or got a 410), no new request
// starts: at most concurrency changes are tried.
func TestHaltBoundsRequests(t *testing.T) {
	tests := []struct {
		code     int
		want     error
		requests int // at most
	}{
		{503, sinks.ErrUnavailable, 4 * 3},
		{410, sinks.ErrGone, 4},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			rc := newReceiver(t, status(tt.code, nil, ""))
			h := open(t, rc.URL, func(c *Config) { c.Concurrency, c.MaxRetries = 4, 2 })
			errs := h.Deliver(t.Context(), eventtest.Changes(t, 40, contact.Created))
			notSent := 0
			for i, err := range errs {
				if !errors.Is(err, tt.want) {
					t.Errorf("change %d: %v, want %v", i, err, tt.want)
				}
				if strings.Contains(err.Error(), "not sent: ") {
					notSent++
				}
			}
			if n := len(rc.got()); n > tt.requests || notSent < 36 {
				t.Errorf("%d requests and %d changes not sent; want at most %d requests, and 36 not sent", n, notSent, tt.requests)
			}
		})
	}
}

// A change waiting for its backoff gives up when another one halts the
// batch, rather than retrying into a receiver known to be failing.
func TestHaltEndsBackoff(t *testing.T) {
	rc := newReceiver(t, status(503, nil, ""))
	h := open(t, rc.URL, func(c *Config) { c.Concurrency, c.MaxRetries = 2, 1 })
	var first atomic.Bool
	h.sleep = func(ctx context.Context, _ time.Duration) error {
		if first.CompareAndSwap(false, true) {
			<-ctx.Done() // until the other change halts the batch
		}
		return ctx.Err()
	}
	errs := h.Deliver(t.Context(), eventtest.Changes(t, 2, contact.Created))
	var gaveUp, cut int
	for _, err := range errs {
		switch {
		case !errors.Is(err, sinks.ErrUnavailable):
			t.Errorf("%v, want it to wrap ErrUnavailable", err)
		case strings.HasSuffix(err.Error(), "503 Service Unavailable (2 attempts)"):
			gaveUp++
		case strings.HasSuffix(err.Error(), "503 Service Unavailable"):
			cut++
		}
	}
	if gaveUp != 1 || cut != 1 || len(rc.got()) != 3 {
		t.Errorf("errors %v after %d requests; want one change to give up after 2 attempts and one cut short after 1", errs, len(rc.got()))
	}
}

func TestEventsFilter(t *testing.T) {
	rc := newReceiver(t, nil)
	h := open(t, rc.URL, func(c *Config) { c.Events = []string{"created", "contact.deleted"} })
	batch := []contact.Change{eventtest.Change(t, contact.Created, "1"), eventtest.Change(t, contact.Updated, "2"), eventtest.Change(t, contact.Deleted, "3")}
	for i, err := range h.Deliver(t.Context(), batch) {
		if err != nil {
			t.Errorf("change %d: %v", i, err)
		}
	}
	var ids []string
	for _, req := range rc.got() {
		ids = append(ids, req.ID)
	}
	slices.Sort(ids)
	if want := []string{"msg_created_1", "msg_deleted_3"}; !slices.Equal(ids, want) {
		t.Errorf("sent %v, want %v", ids, want)
	}
}

// A change that cannot be sent gets an error of its own (it stays queued
// for a later version) and the others go on, alone or in a batch.
func TestUnsendable(t *testing.T) {
	odd := eventtest.Change(t, contact.Created, "1")
	odd.Kind = "merged"
	broken := eventtest.Change(t, contact.Created, "2")
	broken.Contact.Raw = []byte(`{"id":2,`)
	for _, size := range []int{1, 2} {
		rc := newReceiver(t, nil)
		h := open(t, rc.URL, func(c *Config) { c.BatchSize = size })
		errs := h.Deliver(t.Context(), []contact.Change{odd, broken, eventtest.Change(t, contact.Created, "3")})
		if errs[0] == nil || errs[0].Error() != `webhook: event msg_created_1: unknown change kind "merged"` ||
			errs[1] == nil || !strings.HasPrefix(errs[1].Error(), "webhook: event msg_created_2: json: ") || errs[2] != nil {
			t.Errorf("batch_size %d: errors %v", size, errs)
		}
		for _, err := range errs[:2] {
			if errors.Is(err, sinks.ErrPermanent) || errors.Is(err, sinks.ErrUnavailable) {
				t.Errorf("%v wraps a sentinel", err)
			}
		}
		if got := rc.got(); len(got) != 1 || !strings.Contains(string(got[0].Body), `"id":3`) {
			t.Errorf("batch_size %d: requests %+v, want contact 3 alone", size, got)
		}
	}
}

// With batch_size 2, five changes go as three requests whose ids are
// derived from their events, the same on a retry and on a later Deliver.
func TestBatch(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, req request) {
		if req.Attempt == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h := open(t, rc.URL, func(c *Config) { c.BatchSize = 2 })
	batch := eventtest.Changes(t, 5, contact.Created)
	for range 2 {
		for i, err := range h.Deliver(t.Context(), batch) {
			if err != nil {
				t.Fatalf("change %d: %v", i, err)
			}
		}
	}
	wantEvents := map[string][]string{
		batchID([]string{"msg_created_1", "msg_created_2"}): {"msg_created_1", "msg_created_2"},
		batchID([]string{"msg_created_3", "msg_created_4"}): {"msg_created_3", "msg_created_4"},
		batchID([]string{"msg_created_5"}):                  {"msg_created_5"},
	}
	bodies := map[string]string{}
	for _, req := range rc.got() {
		want, ok := wantEvents[req.ID]
		if !ok {
			t.Fatalf("unexpected webhook-id %s", req.ID)
		}
		if b, seen := bodies[req.ID]; seen && b != string(req.Body) {
			t.Errorf("%s: body changed between attempts", req.ID)
		}
		bodies[req.ID] = string(req.Body)
		var body struct {
			Type string
			Data struct{ Events []struct{ ID, Type string } }
		}
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ev := range body.Data.Events {
			ids = append(ids, ev.ID)
			if ev.Type != "contact.created" {
				t.Errorf("event type %q", ev.Type)
			}
		}
		if body.Type != "contact.batch" || !slices.Equal(ids, want) {
			t.Errorf("%s: type %q with events %v, want contact.batch with %v", req.ID, body.Type, ids, want)
		}
	}
	if n := len(rc.got()); n != 3*2+3 {
		t.Errorf("%d requests, want 9: three batches failing once, then each again", n)
	}
}

func TestBatchRefused(t *testing.T) {
	rc := newReceiver(t, status(422, nil, "no"))
	h := open(t, rc.URL, func(c *Config) { c.BatchSize, c.Events = 3, []string{"created"} })
	batch := []contact.Change{eventtest.Change(t, contact.Created, "1"), eventtest.Change(t, contact.Deleted, "2"), eventtest.Change(t, contact.Created, "3")}
	errs := h.Deliver(t.Context(), batch)
	if !errors.Is(errs[0], sinks.ErrPermanent) || errs[1] != nil || !errors.Is(errs[2], sinks.ErrPermanent) {
		t.Errorf("errors %v; want the batch of 1 and 3 refused and 2 left out", errs)
	}
	if n := len(rc.got()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// The receiver sees up to concurrency requests at once and never more, and
// the errors come back in the order of the batch.
func TestConcurrency(t *testing.T) {
	const workers = 3
	var (
		inflight, peak atomic.Int32
		full           = make(chan struct{})
		fill           sync.Once
		mu             sync.Mutex
		busy           = map[string]bool{}
		overlap        []string
	)
	rc := newReceiver(t, func(w http.ResponseWriter, req request) {
		id := contactOf(t, req.Body)
		mu.Lock()
		if busy[id] {
			overlap = append(overlap, id)
		}
		busy[id] = true
		mu.Unlock()
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if n == workers {
			fill.Do(func() { close(full) })
		}
		select { // hold the first requests until the workers are all busy
		case <-full:
		case <-time.After(time.Minute):
		}
		inflight.Add(-1)
		mu.Lock()
		delete(busy, id)
		mu.Unlock()
		if id == "7" || id == "13" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	h := open(t, rc.URL, func(c *Config) { c.Concurrency = workers })
	errs := h.Deliver(t.Context(), eventtest.Changes(t, 30, contact.Created))
	for i, err := range errs {
		refused := i == 6 || i == 12
		if refused != errors.Is(err, sinks.ErrPermanent) || !refused && err != nil {
			t.Errorf("change %d (contact %d): %v", i, i+1, err)
		}
	}
	if p := peak.Load(); p != workers {
		t.Errorf("peak of %d requests at once, want %d", p, workers)
	}
	if len(overlap) > 0 {
		t.Errorf("contacts %v had two requests at once", overlap)
	}
}

func TestHeaders(t *testing.T) {
	rc := newReceiver(t, nil)
	h := open(t, rc.URL, func(c *Config) {
		c.Headers = map[string]secret.String{
			"Authorization": secret.New("Bearer tok"),
			"x-tenant":      secret.New("acme"),
			"User-Agent":    secret.New("acme-sync/2"),
		}
	})
	if errs := h.Deliver(t.Context(), eventtest.Changes(t, 1, contact.Created)); errs[0] != nil {
		t.Fatal(errs[0])
	}
	req := rc.got()[0]
	want := map[string]string{
		"Authorization": "Bearer tok",
		"X-Tenant":      "acme",
		"User-Agent":    "acme-sync/2",
		"Content-Type":  "application/json",
		"Webhook-Id":    "msg_created_1",
	}
	for k, v := range want {
		if got := req.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	ts, _ := strconv.ParseInt(req.Timestamp, 10, 64)
	if now := time.Now().Unix(); ts < now-300 || ts > now+300 {
		t.Errorf("webhook-timestamp %s is not the time of the attempt", req.Timestamp)
	}
	if req.Method != http.MethodPost || req.Signature != h.sign(req.ID, ts, req.Body) {
		t.Errorf("%s with signature %s", req.Method, req.Signature)
	}
}

func TestDefaultUserAgent(t *testing.T) {
	rc := newReceiver(t, nil)
	h := open(t, rc.URL, nil)
	h.Deliver(t.Context(), eventtest.Changes(t, 1, contact.Created))
	if ua := rc.got()[0].Header.Get("User-Agent"); ua != "connect-sync" {
		t.Errorf("User-Agent %q", ua)
	}
}

func TestCanceled(t *testing.T) {
	rc := newReceiver(t, nil)
	h := open(t, rc.URL, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for i, err := range h.Deliver(ctx, eventtest.Changes(t, 3, contact.Created)) {
		if !errors.Is(err, context.Canceled) || errors.Is(err, sinks.ErrPermanent) {
			t.Errorf("change %d: %v", i, err)
		}
	}
	if n := len(rc.got()); n != 0 {
		t.Errorf("%d requests after the context ended", n)
	}
}

// A run cancelled while a change waits to be retried ends with an error
// that wraps the context's, and no sentinel: the engine sees the context.
func TestCanceledWhileWaiting(t *testing.T) {
	rc := newReceiver(t, status(503, nil, ""))
	h := open(t, rc.URL, func(c *Config) { c.Concurrency = 1 })
	ctx, cancel := context.WithCancel(t.Context())
	h.sleep = func(context.Context, time.Duration) error {
		cancel()
		return ctx.Err()
	}
	errs := h.Deliver(ctx, eventtest.Changes(t, 2, contact.Created))
	want := "webhook: POST " + rc.URL + ": context canceled while waiting to retry after: 503 Service Unavailable"
	if errs[0] == nil || errs[0].Error() != want || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("error %v, want %s", errs[0], want)
	}
	for _, err := range errs {
		if errors.Is(err, sinks.ErrUnavailable) || errors.Is(err, sinks.ErrPermanent) || !errors.Is(err, context.Canceled) {
			t.Errorf("%v: want the context's error alone", err)
		}
	}
	if n := len(rc.got()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestCheck(t *testing.T) {
	rc := newReceiver(t, status(405, nil, ""))
	if err := open(t, rc.URL, nil).Check(t.Context()); err != nil {
		t.Errorf("Check: %v", err)
	}
	if got := rc.got(); len(got) != 1 || got[0].Method != http.MethodOptions {
		t.Errorf("Check sent %+v, want one OPTIONS request", got)
	}
	err := open(t, refusedURL(t), nil).Check(t.Context())
	if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Check of a closed port: %v", err)
	}
}

// The connections are kept alive and reused across Deliver calls. How many
// are opened depends on timing (net/http may dial a spare when a request
// races a connection going back to the pool), so the count is only
// checked against one per request; the pool's size is checked exactly.
func TestKeepAlive(t *testing.T) {
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	h := open(t, srv.URL, func(c *Config) { c.Concurrency = 6 })
	if tr := h.client.Transport.(*http.Transport); tr.DisableKeepAlives || tr.MaxIdleConnsPerHost < 6 || tr.MaxIdleConns < 6 {
		t.Errorf("the transport keeps %d idle connections to a host, want one per worker", tr.MaxIdleConnsPerHost)
	}
	const rounds, size = 3, 40
	for range rounds {
		for i, err := range h.Deliver(t.Context(), eventtest.Changes(t, size, contact.Created)) {
			if err != nil {
				t.Fatalf("change %d: %v", i, err)
			}
		}
	}
	if n := opened.Load(); n > rounds*size/4 {
		t.Errorf("%d connections for %d requests: they are not reused", n, rounds*size)
	}
}
