package natsstate

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// bigBatch is n created contacts of about 2 KB of writes each.
func bigBatch(n int) []state.Detected {
	batch := make([]state.Detected, n)
	for i := range batch {
		batch[i] = detected(fmt.Sprintf("%04d", i), contact.Created, strings.Repeat("n", 700))
	}
	return batch
}

// TestBigCommitIsChunked commits 1,000 contacts, more than one write may
// hold, with a crash in the middle: the chunks written before it are
// whole, each contact with its entry, snapshot, record and queue entries,
// and the others are not there at all.
func TestBigCommitIsChunked(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	w := openWorkspace(t, db, "acme")
	ok(t, w.RegisterSink(t.Context(), "a", state.SinkInfo{Type: "csv"}))
	ok(t, w.RegisterSink(t.Context(), "b", state.SinkInfo{Type: "csv"}))
	hits := failAtHit(t, db, "apply", 3)
	if err := w.Commit(t.Context(), bigBatch(1000)); !errors.Is(err, errCrash) {
		t.Fatalf("commit: %v", err)
	}
	db.hooks.failAt = nil
	if *hits != 3 {
		t.Fatalf("%d writes before the crash", *hits)
	}

	w = openWorkspace(t, db, "acme")
	cp, err := w.Checkpoint(t.Context())
	ok(t, err)
	if len(cp) == 0 || len(cp) >= 1000 {
		t.Fatalf("%d contacts committed, want those of the chunks before the crash", len(cp))
	}
	t.Logf("%d contacts in the chunks written before the crash, and the one it interrupted", len(cp))
	for _, sink := range []string{"a", "b"} {
		q, err := w.Queue(t.Context(), sink, 0, 2000)
		ok(t, err)
		if len(q) != len(cp) {
			t.Errorf("sink %s: %d queued for %d contacts", sink, len(q), len(cp))
		}
		for i, c := range q {
			if want := fmt.Sprintf("%04d", i); c.Change.Contact.ID != want || cp[want].LastActivityAt == "" {
				t.Fatalf("sink %s: change %d is of contact %s, want %s, checkpointed", sink, i, c.Change.Contact.ID, want)
			}
		}
	}
	if n := countChanges(t, db, "acme"); n != len(cp) {
		t.Errorf("%d change records for %d contacts", n, len(cp))
	}
	// The next run commits the rest.
	ok(t, w.Commit(t.Context(), bigBatch(1000)[len(cp):]))
	if n, _ := w.Pending(t.Context(), "a"); n != 1000 {
		t.Errorf("%d pending after the rest was committed", n)
	}
}

// TestInterruptedBackfillStartsOver interrupts a back-fill of thousands
// of contacts in its second chunk: the sink keeps its Backfilling mark,
// and registering it again and back-filling it anew, as the engine does,
// leaves one change per contact and no stray record.
func TestInterruptedBackfillStartsOver(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	w := openWorkspace(t, db, "acme")
	for i := range 3 {
		ok(t, w.Commit(t.Context(), bigBatch(3000)[i*1000:(i+1)*1000]))
	}
	ok(t, w.RegisterSink(t.Context(), "new", state.SinkInfo{Type: "csv", Backfilling: true}))
	failAtHit(t, db, "wal", 2)
	if _, err := w.Backfill(t.Context(), "new", at, func() string { return "msg" }); !errors.Is(err, errCrash) {
		t.Fatalf("backfill: %v", err)
	}
	db.hooks.failAt = nil

	w = openWorkspace(t, db, "acme")
	sinks, err := w.Sinks(t.Context())
	ok(t, err)
	if !sinks["new"].Backfilling {
		t.Fatalf("after the crash the sink is %+v, want it still marked", sinks["new"])
	}
	if n, _ := w.Pending(t.Context(), "new"); n == 0 || n >= 3000 {
		t.Errorf("%d queued by the interrupted back-fill", n)
	}
	ok(t, w.RegisterSink(t.Context(), "new", state.SinkInfo{Type: "csv", Backfilling: true}))
	n, err := w.Backfill(t.Context(), "new", at, func() string { return "msg" })
	if err != nil || n != 3000 {
		t.Fatalf("back-filled %d, %v", n, err)
	}
	if p, _ := w.Pending(t.Context(), "new"); p != 3000 {
		t.Errorf("%d pending, want 3000", p)
	}
	if c := countChanges(t, db, "acme"); c != 3000 {
		t.Errorf("%d change records, want 3000", c)
	}
}

// TestTooBigAContactNamesIt: a contact whose writes cannot fit in one
// message is refused with its id, and nothing of the batch is written.
func TestTooBigAContactNamesIt(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	w := openWorkspace(t, db, "acme")
	ok(t, w.RegisterSink(t.Context(), "a", state.SinkInfo{Type: "csv"}))
	huge := detected("c-42", contact.Created, strings.Repeat("n", 600<<10))
	err := w.Commit(t.Context(), []state.Detected{huge, detected("1", contact.Created, "x")})
	if err == nil || !strings.Contains(err.Error(), "natsstate: workspace acme: commit: contact c-42:") || !strings.Contains(err.Error(), "max_payload") {
		t.Fatalf("err = %v, want it to name the contact and the limit", err)
	}
	if cp, err := w.Checkpoint(t.Context()); err != nil || len(cp) != 0 {
		t.Errorf("checkpoint after the refused commit: %v, %v", cp, err)
	}
	// A contact of 300 KB fits, in a chunk of its own.
	ok(t, w.Commit(t.Context(), []state.Detected{detected("big", contact.Created, strings.Repeat("n", 300<<10)), detected("1", contact.Created, "x")}))
	if n, _ := w.Pending(t.Context(), "a"); n != 2 {
		t.Errorf("%d pending", n)
	}
}
