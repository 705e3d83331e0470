package engine

import (
	"bytes"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/source"
)

// deepPlaceholder is a value the hostile API serves nested far deeper
// than encoding/json, which the fake API encodes with, goes.
const deepPlaceholder = "@nested 10,001 levels deep@"

// hostile serves api, with deepPlaceholder nested 10,001 levels deep.
func hostile(api http.Handler) http.Handler {
	deep := []byte(strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(bytes.ReplaceAll(rec.Body.Bytes(), []byte(`"`+deepPlaceholder+`"`), deep))
	})
}

// TestSkippedContactsAreKeptAndTheOthersSync runs the engine with the real
// API client against an API that sends, among normal contacts, a tracked
// contact grown past source.MaxContactBytes, a tracked one nested past
// encoding/json's own limit and a new one too large: the others' changes
// (an edit, a deletion) go through, the bad ones are skipped, named once
// in the log, neither deleted nor changed, and the run fails; once they
// are sane again, the next run takes them.
func TestSkippedContactsAreKeptAndTheOthersSync(t *testing.T) {
	api := fakeconnect.New(fakeconnect.Options{Contacts: 6, Seed: 1})
	srv := httptest.NewServer(hostile(api))
	t.Cleanup(srv.Close)
	client, err := source.New(source.Options{BaseURL: srv.URL, APIKey: secret.New(fakeconnect.DefaultAPIKey), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	h := newHarness(t, 0, Sink{Name: "r", Type: "test", Sink: rec})
	h.engine.Source = client
	var logs bytes.Buffer
	h.engine.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h.mustRun()
	rec.take()
	ids := api.IDs()
	before, _ := h.db.Checkpoint(t.Context())
	snapshots, _ := h.db.Snapshots(t.Context(), ids)

	huge := strings.Repeat("x", source.MaxContactBytes)
	api.Edit(ids[0], func(c map[string]any) { c["note"] = "edited" })
	api.Delete(ids[1])
	api.Edit(ids[2], func(c map[string]any) { c["note"] = huge })
	api.Edit(ids[3], func(c map[string]any) { c["future"] = deepPlaceholder })
	added := api.Add(map[string]any{"firstName": "Big", "note": huge})
	report, err := h.run(Options{})

	var skipped *contact.SkippedError
	if !errors.As(err, &skipped) {
		t.Fatalf("run: err = %v, want a *contact.SkippedError", err)
	}
	for _, want := range []string{`contact "` + ids[2] + `"`, `contact "` + ids[3] + `"`, `contact "` + added + `"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run: err = %v, want it to name %s", err, want)
		}
	}
	if report.Skipped != 3 || report.Updated != 1 || report.Deleted != 1 || report.Created != 0 {
		t.Errorf("report %+v, want 3 skipped, 1 updated, 1 deleted", report)
	}
	if got := named(summary(rec.take()), ids); !slices.Equal(got, []string{"updated #0", "deleted #1"}) {
		t.Errorf("delivered %v, want the edit and the deletion only", got)
	}
	after, _ := h.db.Checkpoint(t.Context())
	for _, id := range ids[2:4] {
		if after[id] != before[id] {
			t.Errorf("contact %s's checkpoint entry changed", id)
		}
	}
	if _, ok := after[added]; ok {
		t.Errorf("the new contact too large to take is tracked")
	}
	now, _ := h.db.Snapshots(t.Context(), ids[2:4])
	for _, id := range ids[2:4] {
		if len(now[id]) == 0 || !bytes.Equal(now[id], snapshots[id]) {
			t.Errorf("contact %s's snapshot changed", id)
		}
	}
	for _, id := range []string{ids[2], ids[3], added} {
		if n := strings.Count(logs.String(), "contact="+id+" "); n != 1 {
			t.Errorf("contact %s named in %d log lines, want 1:\n%s", id, n, logs.String())
		}
	}
	if st, _ := h.db.Status(t.Context()); st.LastRun == nil || st.LastRun.Result != "failure" || !strings.Contains(st.LastRun.Error, "skipped 3 contacts") {
		t.Errorf("last run recorded as %+v", st.LastRun)
	}

	api.Edit(ids[2], func(c map[string]any) { c["note"] = "sane again" })
	api.Edit(ids[3], func(c map[string]any) { delete(c, "future") })
	api.Edit(added, func(c map[string]any) { c["note"] = "smaller" })
	h.mustRun()
	if got := named(summary(rec.take()), append(ids, added)); !slices.Equal(got, []string{"updated #2", "updated #3", "created #6"}) {
		t.Errorf("delivered %v once the contacts were sane, want them updated and created", got)
	}
}
