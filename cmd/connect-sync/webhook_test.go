package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/connect-sync/connect-sync/internal/crashpoint"
	"github.com/connect-sync/connect-sync/internal/state"
)

const webhookKey = "connect-sync-e2e-webhook-key-32b"

// receiver is a webhook endpoint that checks every signature and answers
// what the test tells it to.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	answer func(contactID string) int
	events []event // acknowledged ones, in arrival order
	ids    map[string]int
}

type event struct {
	ID, Type, Workspace, Contact string
}

func newReceiver(t *testing.T) (*receiver, string) {
	r := &receiver{t: t, answer: func(string) int { return http.StatusNoContent }, ids: map[string]int{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// signedWithTestKey reports whether a request carries the Standard Webhooks
// signature of its body under webhookKey.
func signedWithTestKey(req *http.Request, body []byte) bool {
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, []byte(webhookKey))
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	return req.Header.Get("webhook-signature") == "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get("webhook-id")
	if !signedWithTestKey(req, body) {
		r.t.Errorf("bad signature on %s", id)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e struct {
		Type, Workspace string
		Data            struct{ Contact struct{ ID json.Number } }
	}
	if err := json.Unmarshal(body, &e); err != nil {
		r.t.Errorf("body of %s: %v", id, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	code := r.answer(e.Data.Contact.ID.String())
	if code < 300 {
		r.events = append(r.events, event{id, e.Type, e.Workspace, e.Data.Contact.ID.String()})
		r.ids[id]++
	}
	w.WriteHeader(code)
}

func (r *receiver) set(answer func(contactID string) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = answer
}

func (r *receiver) received() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

func webhookConfig(w *workspace, url string) {
	base, _ := os.ReadFile(w.config)
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte(webhookKey))
	w.writeConfig(string(base) + fmt.Sprintf(`  - name: hook
    type: webhook
    url: %s
    secret: %s
    max_retries: 0
`, url, secret))
}

// TestWebhookEndToEnd: a receiver that is down for a whole run, with the
// process killed in between, gets every event on the next run, in order
// per contact; a refused event is a dead letter until redeliver.
func TestWebhookEndToEnd(t *testing.T) {
	w := newWorkspace(t, 6)
	rec, url := newReceiver(t)
	webhookConfig(w, url)

	w.mustRun("sync")
	if got := rec.received(); len(got) != 6 || got[0].Type != "contact.created" || got[0].Workspace != "default" {
		t.Fatalf("first sync: %v", got)
	}

	// Down for a whole run: nothing is lost.
	rec.set(func(string) int { return http.StatusServiceUnavailable })
	ids := w.api.IDs()
	w.api.Edit(ids[0], func(c map[string]any) { c["note"] = "first edit" })
	if r := w.run(nil, "sync"); r.code != 1 || !strings.Contains(r.stderr, "503") {
		t.Fatalf("sync with the receiver down: exit %d\n%s", r.code, r.stderr)
	}
	// Killed after the next changes were queued, still down.
	w.api.Edit(ids[0], func(c map[string]any) { c["note"] = "second edit" })
	w.api.Delete(ids[1])
	if r := w.run([]string{crashpoint.EnvVar + "=after-queue"}, "sync"); !r.killed {
		t.Fatalf("the crash point did not kill the run: exit %d", r.code)
	}
	rec.set(func(string) int { return http.StatusNoContent })
	w.mustRun("sync")
	// In order per contact; different contacts go in parallel.
	perContact := map[string][]string{}
	for _, e := range rec.received()[6:] {
		perContact[e.Contact] = append(perContact[e.Contact], e.Type)
	}
	want := map[string][]string{ids[0]: {"contact.updated", "contact.updated"}, ids[1]: {"contact.deleted"}}
	if fmt.Sprint(perContact) != fmt.Sprint(want) {
		t.Errorf("after the receiver came back: %v, want %v", perContact, want)
	}

	// A refused event is a dead letter; the contact's next change goes on.
	rec.set(func(id string) int {
		if id == ids[2] {
			return http.StatusUnprocessableEntity
		}
		return http.StatusNoContent
	})
	w.api.Edit(ids[2], func(c map[string]any) { c["note"] = "refused" })
	if r := w.run(nil, "sync"); r.code != 1 || !strings.Contains(r.stderr, "dead letters") {
		t.Fatalf("sync with a refused event: exit %d\n%s", r.code, r.stderr)
	}
	st := w.status()
	var hook state.SinkStatus
	for _, s := range st.Sinks {
		if s.Name == "hook" {
			hook = s
		}
	}
	if hook.DeadLetters != 1 || hook.DeadLetterList[0].Contact != ids[2] {
		t.Fatalf("status after the refusal: %+v", hook)
	}
	rec.set(func(string) int { return http.StatusNoContent })
	w.mustRun("redeliver", "--sink", "hook", "--all")
	w.mustRun("sync")
	last := rec.received()[len(rec.received())-1]
	if last.Contact != ids[2] || last.ID != hook.DeadLetterList[0].Event {
		t.Errorf("after redeliver the receiver got %+v, want the dead letter %s", last, hook.DeadLetterList[0].Event)
	}
	for id, n := range rec.ids {
		if n > 1 {
			t.Errorf("event %s acknowledged %d times", id, n)
		}
	}
}
