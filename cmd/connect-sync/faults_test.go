package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/davtest"
)

// The faults from the source are table-tested at the engine level
// (internal/engine TestSourceFaults) and through the binary by
// TestSourceFaults in main_test.go; only the one that is about a
// long-lived process is here. The faults from the sinks are here, since
// what matters is the whole run: the failing sink is named, the others
// finish, and the backlog goes out once the sink is back.

// keyGate stands in front of the fake API and accepts one API key, which
// the test can revoke and replace, as a workspace admin rotating keys would.
type keyGate struct {
	next http.Handler
	mu   sync.Mutex
	key  string
}

func (g *keyGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	key := g.key
	g.mu.Unlock()
	if r.Header.Get("X-Api-Key") != key {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error": "Invalid API key"}`)
		return
	}
	r.Header.Set("X-Api-Key", testKey) // the key the fake API knows
	g.next.ServeHTTP(w, r)
}

func (g *keyGate) rotate(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.key = key
}

var baseURLLine = regexp.MustCompile(`(?m)^  base_url: .*$`)

// TestServiceSurvivesARevokedKey revokes the service's API key while it
// runs: every run fails with a clear error and deletes nothing, the
// process stays up and says it is not ready, and a SIGHUP after the config
// has the new key brings it back with what changed in between.
func TestServiceSurvivesARevokedKey(t *testing.T) {
	const rotated = "sk_live_rotated_key_456"
	w := newWorkspace(t, 20)
	gate := &keyGate{next: w.api, key: testKey}
	srv := httptest.NewServer(gate)
	t.Cleanup(srv.Close)
	config, _ := os.ReadFile(w.config)
	w.writeConfig(baseURLLine.ReplaceAllString(string(config), "  base_url: "+srv.URL))
	s := w.startService(w.serviceConfig(""))
	eventually(t, "the first run", func() bool { code, _ := s.get("/readyz"); return code == http.StatusOK })
	w.assertMirrors()

	gate.rotate(rotated)
	ids := w.api.IDs()
	w.api.Edit(ids[0], func(c map[string]any) { c["lastName"] = "Edited-While-Revoked" })
	w.api.Delete(ids[1])
	eventually(t, "/readyz to report the rejected key", func() bool {
		code, body := s.get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "rejected the API key (401)")
	})
	eventually(t, "a second failed run", func() bool {
		return value(s.metrics(), "connect_sync_runs_total", "result", "failure") >= 2
	})
	if code, _ := s.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz answers %d while the key is rejected", code)
	}
	if _, err := os.Stat(w.path("vcards/" + ids[1] + ".vcf")); err != nil {
		t.Errorf("a failed run deleted a card: %v", err)
	}
	if csv, _ := os.ReadFile(w.path("contacts.csv")); bytes.Contains(csv, []byte("Edited-While-Revoked")) {
		t.Error("a run with a rejected key delivered an edit")
	}

	config, _ = os.ReadFile(w.config)
	w.writeConfig(strings.Replace(string(config), "api_key: ${TEST_API_KEY}", "api_key: "+rotated, 1))
	s.signal(syscall.SIGHUP)
	s.expect("RELOADING=1")
	s.expect("READY=1")
	eventually(t, "/readyz after the new key", func() bool { code, _ := s.get("/readyz"); return code == http.StatusOK })
	eventually(t, "the edit made while the key was revoked", func() bool {
		csv, _ := os.ReadFile(w.path("contacts.csv"))
		return bytes.Contains(csv, []byte("Edited-While-Revoked"))
	})
	s.signal(syscall.SIGTERM)
	if code := s.wait(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	w.assertMirrors()
	if strings.Contains(s.logs.String(), rotated) {
		t.Error("the new API key leaked into the service's logs")
	}
}

// faultyReceiver puts a fault in front of a receiver (webhook_test.go)
// until it is healed, and counts the attempts of each event and the
// requests in flight.
type faultyReceiver struct {
	*receiver
	mu       sync.Mutex
	fault    http.HandlerFunc // answers instead of the receiver; nil once healed
	delay    time.Duration    // before the receiver answers; 0 once healed
	attempts map[string]int   // by webhook-id
	inflight atomic.Int32
	peak     atomic.Int32
}

func newFaultyReceiver(t *testing.T, fault http.HandlerFunc, delay time.Duration) (*faultyReceiver, string) {
	f := &faultyReceiver{
		receiver: &receiver{t: t, answer: func(string) int { return http.StatusNoContent }, ids: map[string]int{}},
		fault:    fault, delay: delay, attempts: map[string]int{},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *faultyReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	f.mu.Lock()
	f.attempts[r.Header.Get("webhook-id")]++
	fault, delay := f.fault, f.delay
	f.mu.Unlock()
	if fault != nil {
		fault(w, r)
		return
	}
	time.Sleep(delay)
	f.receiver.ServeHTTP(w, r)
}

// heal ends the fault and forgets the attempts so far.
func (f *faultyReceiver) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault, f.delay, f.attempts = nil, 0, map[string]int{}
}

// maxAttempts is the most attempts any event got since the last heal.
func (f *faultyReceiver) maxAttempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	most := 0
	for _, n := range f.attempts {
		most = max(most, n)
	}
	return most
}

// statusFault is a fault that answers status, with a Retry-After if given.
func statusFault(status int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
	}
}

// hangFault answers nothing until the client gives up. The body is read
// first: the server notices a closed connection only after that.
func hangFault(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// TestWebhookReceiverFaults syncs to a webhook receiver that misbehaves
// for a whole run, next to the csv and vcard-dir sinks. The run names the
// sink and what it got, the file sinks are complete, and once the receiver
// is back (and, after a 410, the sink is enabled again) it gets every
// event exactly once, in order per contact. How each answer is classified
// and retried is table-tested in internal/sinks/webhook (TestClassification).
func TestWebhookReceiverFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: each fault of a receiver against the real binary; runs without -short")
	}
	tests := []struct {
		name     string
		fault    http.HandlerFunc
		delay    time.Duration
		settings string // extra keys of the webhook sink
		workers  int    // its concurrency; 0 for the default, 4
		wantErr  string // in the faulty run's log; empty when it succeeds
		attempts int    // of each event in the faulty run
		disabled bool   // the sink waits for redeliver
	}{
		{name: "500", fault: statusFault(500, ""), wantErr: "destination unavailable: 500 Internal Server Error", attempts: 1},
		{name: "429 with Retry-After", fault: statusFault(429, "1"), settings: "max_retries: 1",
			wantErr: "429 Too Many Requests", attempts: 2},
		{name: "410", fault: statusFault(410, ""), wantErr: "destination gone: 410 Gone", attempts: 1, disabled: true},
		{name: "hanging", settings: "timeout: 1s", wantErr: "no response within 1s", attempts: 1,
			fault: hangFault},
		{name: "closing connections", wantErr: "destination unavailable: EOF", attempts: 1,
			fault: func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }},
		{name: "slow under concurrency", delay: 200 * time.Millisecond, workers: 3, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorkspace(t, 8)
			rc, hookURL := newFaultyReceiver(t, tt.fault, tt.delay)
			base, _ := os.ReadFile(w.config)
			secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte(webhookKey))
			hook := fmt.Sprintf("  - name: hook\n    type: webhook\n    url: %s\n    secret: %s\n", hookURL, secret)
			if !strings.Contains(tt.settings, "max_retries") {
				hook += "    max_retries: 0\n"
			}
			if tt.settings != "" {
				hook += "    " + tt.settings + "\n"
			}
			workers := 4
			if tt.workers > 0 {
				workers = tt.workers
				hook += fmt.Sprintf("    concurrency: %d\n", workers)
			}
			w.writeConfig(string(base) + hook)

			r := w.run(nil, "sync")
			if tt.wantErr == "" && r.code != 0 {
				t.Fatalf("faulty run: exit %d\n%s", r.code, r.stderr)
			}
			if tt.wantErr != "" && (r.code != 1 || !strings.Contains(r.stderr, "sink hook") || !strings.Contains(r.stderr, tt.wantErr)) {
				t.Fatalf("faulty run: exit %d, want 1 naming sink hook and %q:\n%s", r.code, tt.wantErr, r.stderr)
			}
			w.assertMirrors() // the file sinks did not wait for the receiver
			if n := rc.maxAttempts(); n != tt.attempts {
				t.Errorf("an event was tried %d times in the faulty run, want %d", n, tt.attempts)
			}
			if p := rc.peak.Load(); int(p) > workers {
				t.Errorf("%d requests at once, over the concurrency of %d", p, workers)
			}

			// Back: what the receiver missed goes out, with what changed since.
			rc.heal()
			ids := w.api.IDs()
			w.api.Edit(ids[0], func(c map[string]any) { c["note"] = "edited while the receiver was down" })
			w.api.Delete(ids[1])
			if tt.disabled {
				if r := w.run(nil, "sync"); r.code != 1 || !strings.Contains(r.stderr, "redeliver --sink hook --all") {
					t.Fatalf("sync with the sink disabled: exit %d\n%s", r.code, r.stderr)
				}
				w.mustRun("redeliver", "--sink", "hook", "--all")
			}
			w.mustRun("sync")
			w.assertMirrors()
			perContact := map[string][]string{}
			for _, e := range rc.received() {
				perContact[e.Contact] = append(perContact[e.Contact], strings.TrimPrefix(e.Type, "contact."))
			}
			for i, id := range ids {
				want := []string{"created"}
				switch i {
				case 0:
					want = append(want, "updated")
				case 1:
					want = append(want, "deleted")
				}
				if fmt.Sprint(perContact[id]) != fmt.Sprint(want) {
					t.Errorf("contact %s: the receiver got %v, want %v", id, perContact[id], want)
				}
			}
			for id, n := range rc.ids {
				if n > 1 {
					t.Errorf("event %s acknowledged %d times", id, n)
				}
			}
		})
	}
}

// TestVCardFolderNotWritable puts a regular file where the vcard-dir
// sink's folder is, which stops writes for root too (a read-only folder
// would not). The sink fails as a whole and says why, the csv sink goes
// on, and once the folder is back it gets the backlog.
func TestVCardFolderNotWritable(t *testing.T) {
	w := newWorkspace(t, 10)
	w.mustRun("sync")
	folder, aside := w.path("vcards"), w.path("vcards.aside")
	if err := os.Rename(folder, aside); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(folder, []byte("not a folder\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ids := w.api.IDs()
	w.api.Edit(ids[0], func(c map[string]any) { c["email"] = "edited@example.com" })
	w.api.Delete(ids[1])
	w.api.Add(map[string]any{"email": "added@example.com", "firstName": "Added"})

	r := w.run(nil, "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "sink cards: 3 pending") || !strings.Contains(r.stderr, "not a directory") {
		t.Fatalf("sync into a file: exit %d, want 1 naming sink cards and the cause:\n%s", r.code, r.stderr)
	}
	csv, _ := os.ReadFile(w.path("contacts.csv"))
	if !bytes.Contains(csv, []byte("edited@example.com")) || !bytes.Contains(csv, []byte("added@example.com")) {
		t.Errorf("the csv sink did not get the run's changes:\n%s", csv)
	}

	if err := os.Remove(folder); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(aside, folder); err != nil {
		t.Fatal(err)
	}
	w.mustRun("sync")
	w.assertMirrors()
	if card, _ := os.ReadFile(w.path("vcards/" + ids[0] + ".vcf")); !bytes.Contains(card, []byte("edited@example.com")) {
		t.Errorf("the edit made while the folder was unusable is not in its card:\n%s", card)
	}
}

// TestASinkFailureIsReportedOnce: a sink whose destination fails is
// reported once per run, where the run's outcome is handled: by the
// one-shot command as it exits, by the service in one error line, and
// neither layer below repeats it.
func TestASinkFailureIsReportedOnce(t *testing.T) {
	w := newWorkspace(t, 5)
	if err := os.WriteFile(w.path("vcards"), []byte("not a folder\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const cause = "not a directory"
	r := w.run(nil, "sync")
	if r.code != 1 || strings.Count(r.stderr, cause) != 1 {
		t.Errorf("sync: exit %d, the cause said %d times, want once:\n%s", r.code, strings.Count(r.stderr, cause), r.stderr)
	}

	s := w.startService(w.serviceConfig(""))
	s.expect("READY=1")
	eventually(t, "two failed runs", func() bool {
		return value(s.metrics(), "connect_sync_runs_total", "result", "failure") >= 2
	})
	s.signal(syscall.SIGTERM)
	s.wait()
	logs := s.logs.String()
	failed := strings.Count(logs, `msg="run failed"`)
	if failed < 2 || strings.Count(logs, cause) != failed || strings.Count(logs, "level=ERROR") != failed {
		t.Errorf("%d failed runs, the cause said %d times, %d error lines; want one of each per run:\n%s",
			failed, strings.Count(logs, cause), strings.Count(logs, "level=ERROR"), logs)
	}
}

// TestCardDAVServerStoppedMidUpload kills a real Radicale while the
// first sync uploads its cards, at the fifth PUT, through a proxy that
// only counts: the run names the sink, the file sinks are complete, and
// after Radicale restarts the next run finishes the book without
// duplicates, with an edit made in between.
func TestCardDAVServerStoppedMidUpload(t *testing.T) {
	const contacts, stopAt = 12, 5
	dav := davtest.StartRadicale(t)
	root, _ := url.Parse(dav.Root)
	proxy := httputil.NewSingleHostReverseProxy(root)
	// A server that is gone drops the connection; the proxy's 502 would
	// be an answer.
	proxy.ErrorHandler = func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) }
	var puts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && puts.Add(1) == stopAt {
			dav.Stop()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	w := newWorkspace(t, contacts)
	book := dav.Home + "connect/"
	base, _ := os.ReadFile(w.config)
	w.writeConfig(string(base) + davSink(dav, strings.Replace(book, dav.Root, srv.URL, 1)))

	r := w.run(nil, "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "sink phone") || !strings.Contains(r.stderr, "destination unavailable") {
		t.Fatalf("sync with the server stopped: exit %d, want 1 naming sink phone:\n%s", r.code, r.stderr)
	}
	w.assertMirrors()

	id := w.api.IDs()[0]
	w.api.Edit(id, func(c map[string]any) { c["note"] = "Edited while the server was down" })
	dav.Restart(t)
	if r := w.run(nil, "sync"); r.code != 0 {
		t.Fatalf("sync after the restart: exit %d\n%s", r.code, r.stderr)
	}
	cards := listCards(t, dav, book)
	if len(cards) != contacts {
		t.Errorf("%d cards after the restart, want %d (each once)", len(cards), contacts)
	}
	edited := 0
	for _, href := range cards {
		if strings.Contains(getCard(t, dav, href), "Edited while the server was down") {
			edited++
		}
	}
	if edited != 1 {
		t.Errorf("%d cards carry the edit, want 1", edited)
	}
	w.assertMirrors()
}
