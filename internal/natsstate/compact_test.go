package natsstate

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// streamMessages counts the messages of the bucket's stream.
func streamMessages(t *testing.T, db *DB) uint64 {
	t.Helper()
	s, err := db.kv.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.Values()
}

// TestCompactionRemovesMarkers delivers and deletes until the markers
// outnumber the live keys: the run's record compacts them away, and the
// state reads the same, before and after opening it again.
func TestCompactionRemovesMarkers(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	db.hooks.compactAt = 50
	w := openWorkspace(t, db, "acme")
	ok(t, w.RegisterSink(t.Context(), "a", state.SinkInfo{Type: "csv"}))
	ok(t, w.RegisterSink(t.Context(), "gone", state.SinkInfo{Type: "csv"}))
	ok(t, w.Commit(t.Context(), bigBatch(100)))
	ok(t, w.Memo("gone").Put(t.Context(), "0001", []byte("m")))
	q, err := w.Queue(t.Context(), "a", 0, 100)
	ok(t, err)
	var seqs []uint64
	for _, c := range q[:90] {
		seqs = append(seqs, c.Seq)
	}
	ok(t, w.Ack(t.Context(), "a", seqs))
	ok(t, w.Bury(t.Context(), "a", []state.Burial{{Seq: q[90].Seq, Error: "422", At: at}}))
	ok(t, w.DropSink(t.Context(), "gone"))
	var deletions []state.Detected
	for _, d := range bigBatch(60)[:60] {
		deletions = append(deletions, detected(d.Change.Contact.ID, contact.Deleted, ""))
	}
	ok(t, w.Commit(t.Context(), deletions))
	before := dump(t, db, "acme")
	msgs := streamMessages(t, db)

	ok(t, w.RecordRun(t.Context(), state.Run{FinishedAt: at, Result: state.RunSucceeded}))
	view := viewOf(t, w)
	after := dump(t, db, "acme")
	delete(after, keyMeta)
	delete(before, keyMeta)
	if !maps.Equal(before, after) {
		t.Error("compaction changed the state")
	}
	// Left: meta, 40 entries and snapshots, one sink, 69 queued changes
	// (9 creations, 60 deletions) with their records, a dead letter and
	// its record, and the write-ahead record's marker.
	want := uint64(1 + 2*40 + 1 + 2*69 + 2 + 1)
	if got := streamMessages(t, db); got != want {
		t.Errorf("%d messages in the stream after compaction (%d before), want %d", got, msgs, want)
	}
	if got := viewOf(t, openWorkspace(t, db, "acme")); !slices.Equal(got, view) {
		t.Errorf("after compaction the workspace reads\n%v\nwant\n%v", got, view)
	}
}
