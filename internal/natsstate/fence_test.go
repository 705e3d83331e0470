package natsstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/state"
)

// writes are operations that write, each after crashSetup: every write
// a run or a command makes, single-key writes and compaction included.
var writes = append(slices.Clone(crashOps), []struct {
	name string
	op   func(ctx context.Context, w *Workspace) error
}{
	{"record-run", func(ctx context.Context, w *Workspace) error {
		return w.RecordRun(ctx, state.Run{FinishedAt: at, Result: state.RunSucceeded})
	}},
	{"update-sink", func(ctx context.Context, w *Workspace) error {
		return w.UpdateSink(ctx, "b", func(info *state.SinkInfo) { info.LastError = "late" })
	}},
	{"memo-put", func(ctx context.Context, w *Workspace) error { return w.Memo("b").Put(ctx, "2", []byte("late")) }},
	{"memo-delete", func(ctx context.Context, w *Workspace) error { return w.Memo("b").Delete(ctx, "1") }},
	{"record-import", func(ctx context.Context, w *Workspace) error { return w.RecordImport(ctx, "f9", "9") }},
	{"compact", func(ctx context.Context, w *Workspace) error {
		return w.do(ctx, "compact", func(ctx context.Context) error {
			w.markers = max(w.db.compactAt(), 1_000_000)
			return w.compactIfDue(ctx)
		})
	}},
}...)

// errLeaseLost stands for the cause a lease's context ends with.
var errLeaseLost = errors.New("lease lost")

// TestEndedContextWritesNothing: once the context a Workspace was opened
// with ends, every operation fails with it, its cause included, and
// nothing reaches the bucket.
func TestEndedContextWritesNothing(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	for i, tt := range writes {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprint("w", i)
			ctx, cancel := context.WithCancelCause(context.Background())
			w, err := db.Workspace(ctx, ctx, name)
			ok(t, err)
			crashSetup(t, w)
			cancel(errLeaseLost)
			before := lastSeq(t, js, db)
			err = tt.op(t.Context(), w)
			if !errors.Is(err, context.Canceled) || !errors.Is(err, errLeaseLost) || !strings.HasPrefix(err.Error(), "natsstate: workspace "+name+": ") {
				t.Errorf("err = %v, want the context's, with its cause", err)
			}
			if _, err := w.Checkpoint(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("a read after the context ended: %v", err)
			}
			if after := lastSeq(t, js, db); after != before {
				t.Errorf("%d messages written after the context ended", after-before)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := lastSeq(t, js, db)
	if _, err := db.Workspace(ctx, ctx, "acme"); !errors.Is(err, context.Canceled) {
		t.Errorf("opened with an ended context: %v", err)
	}
	if after := lastSeq(t, js, db); after != before {
		t.Errorf("opening with an ended context wrote %d messages", after-before)
	}
}

// TestContextEndingMidCommitStopsBetweenChunks ends the context just as
// the second chunk of a big commit has stored its write-ahead record:
// nothing is sent after that, and the workspace opened again holds the
// first two chunks whole and nothing of the others.
func TestContextEndingMidCommitStopsBetweenChunks(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := db.Workspace(ctx, ctx, "acme")
	ok(t, err)
	ok(t, w.RegisterSink(ctx, "a", state.SinkInfo{Type: "csv"}))
	hits, atCancel := 0, uint64(0)
	db.hooks.failAt = func(point string) error {
		if point == "wal" {
			if hits++; hits == 2 {
				cancel()
				atCancel = lastSeq(t, js, db)
			}
		}
		return nil
	}
	t.Cleanup(func() { db.hooks.failAt = nil })
	if err := w.Commit(ctx, bigBatch(1000)); !errors.Is(err, context.Canceled) {
		t.Fatalf("commit: %v", err)
	}
	db.hooks.failAt = nil
	if hits != 2 {
		t.Fatalf("%d chunks begun", hits)
	}
	if after := lastSeq(t, js, db); after != atCancel {
		t.Errorf("%d messages sent after the context ended", after-atCancel)
	}
	cp, err := openWorkspace(t, db, "acme").Checkpoint(t.Context())
	ok(t, err)
	if len(cp) == 0 || len(cp) >= 1000 {
		t.Errorf("%d contacts committed, want those of the first two chunks", len(cp))
	}
}

// TestDBCloseEndsItsWorkspaces: a Workspace fails with ErrClosed once its
// DB is closed, and writes nothing.
func TestDBCloseEndsItsWorkspaces(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	w := openWorkspace(t, db, "acme")
	crashSetup(t, w)
	before := lastSeq(t, js, db)
	ok(t, db.Close())
	if err := w.RecordRun(t.Context(), state.Run{FinishedAt: at}); !errors.Is(err, ErrClosed) {
		t.Errorf("err = %v, want ErrClosed", err)
	}
	if _, err := db.Workspace(context.Background(), context.Background(), "acme"); !errors.Is(err, ErrClosed) {
		t.Errorf("opened on a closed DB: %v", err)
	}
	if after := lastSeq(t, js, db); after != before {
		t.Errorf("%d messages written after Close", after-before)
	}
}

// TestSecondWorkspaceFencesTheFirst opens a workspace twice, as a new
// holder does while the old one's lease has ended but the old one does
// not know yet: every write of the first fails and writes nothing, for
// good, and the second goes on.
func TestSecondWorkspaceFencesTheFirst(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	for i, tt := range writes {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprint("w", i)
			old := openWorkspace(t, db, name)
			crashSetup(t, old)
			holder := openWorkspace(t, db, name)
			before := lastSeq(t, js, db)
			err := tt.op(t.Context(), old)
			if !errors.Is(err, ErrFenced) || err.Error() != "natsstate: workspace "+name+": another instance has written it since this one loaded it" {
				t.Errorf("err = %v, want it fenced out", err)
			}
			if after := lastSeq(t, js, db); after != before {
				t.Errorf("the fenced Workspace wrote %d messages", after-before)
			}
			// For good: it does not load itself again.
			if _, err := old.Checkpoint(t.Context()); !errors.Is(err, ErrFenced) {
				t.Errorf("then a read: %v", err)
			}
			ok(t, tt.op(t.Context(), holder))
			if err := old.RecordRun(t.Context(), state.Run{FinishedAt: at}); !errors.Is(err, ErrFenced) {
				t.Errorf("after the holder's write: %v", err)
			}
		})
	}
}

// TestStaleCompactionPurgesNothing is the review's case: a holder whose
// lease ended records its run late, when markers have piled up, after
// the new holder committed. Unfenced, its compaction rewrote its stale
// index and purged the new holder's keys (50 contacts, none pending);
// fenced, it writes nothing.
func TestStaleCompactionPurgesNothing(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	db.hooks.compactAt = 10
	old := openWorkspace(t, db, "acme")
	ok(t, old.RegisterSink(t.Context(), "a", state.SinkInfo{Type: "csv"}))
	for range 2 {
		ok(t, old.Commit(t.Context(), bigBatch(50)))
		q, err := old.Queue(t.Context(), "a", 0, 100)
		ok(t, err)
		var seqs []uint64
		for _, c := range q {
			seqs = append(seqs, c.Seq)
		}
		ok(t, old.Ack(t.Context(), "a", seqs)) // 50 markers under x.
	}

	holder := openWorkspace(t, db, "acme")
	var more []state.Detected
	for _, id := range []string{"n1", "n2", "n3", "n4", "n5"} {
		more = append(more, detected(id, contact.Created, "new"))
	}
	ok(t, holder.Commit(t.Context(), more))

	if err := old.RecordRun(t.Context(), state.Run{FinishedAt: at, Result: state.RunSucceeded}); !errors.Is(err, ErrFenced) {
		t.Errorf("the stale run's record: %v, want it fenced out", err)
	}
	w := openWorkspace(t, db, "acme")
	cp, err := w.Checkpoint(t.Context())
	ok(t, err)
	pending, err := w.Pending(t.Context(), "a")
	ok(t, err)
	if len(cp) != 55 || pending != 5 {
		t.Errorf("%d contacts, %d pending; want 55 and 5", len(cp), pending)
	}
}

// TestStaleWriteAfterTakeOver: a stale writer stores a write-ahead
// record, and a new Workspace is opened before the stale one applies it
// (at "wal") or when half of it is applied (at "apply"). The stale puts
// that follow land after the takeover, but equal what it replayed: the
// workspace holds the whole write, and the stale writer's next write
// fails.
func TestStaleWriteAfterTakeOver(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	ref := openWorkspace(t, db, "ref")
	crashSetup(t, ref)
	ok(t, crashOps[0].op(t.Context(), ref))
	want := dump(t, db, "ref")
	for i, point := range []string{"wal", "apply"} {
		name := []string{"w1", "w2"}[i]
		t.Run(point, func(t *testing.T) {
			stale := openWorkspace(t, db, name)
			crashSetup(t, stale)
			var holder *Workspace
			db.hooks.failAt = func(p string) error {
				if p == point && holder == nil {
					holder = openWorkspace(t, db, name)
				}
				return nil
			}
			t.Cleanup(func() { db.hooks.failAt = nil })
			ok(t, crashOps[0].op(t.Context(), stale)) // the commit: its puts are not fenced
			db.hooks.failAt = nil
			checkDump(t, 0, dump(t, db, name), want)
			if err := stale.RecordRun(t.Context(), state.Run{FinishedAt: at}); !errors.Is(err, ErrFenced) {
				t.Errorf("the stale writer's next write: %v", err)
			}
			if got, want := viewOf(t, holder), viewOf(t, openWorkspace(t, db, name)); !slices.Equal(got, want) {
				t.Errorf("the holder sees\n%v\nthe bucket holds\n%v", got, want)
			}
		})
	}
}

// TestTakeOverReadsAgain: a stale writer stores a write between a new
// Workspace's read of the wal key and its own write of it. The takeover
// loses the compare-and-set, reads the key again and replays the stale
// writer's record: the workspace holds the whole write.
func TestTakeOverReadsAgain(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	ref := openWorkspace(t, db, "ref")
	crashSetup(t, ref)
	ok(t, crashOps[0].op(t.Context(), ref))
	want := dump(t, db, "ref")

	stale := openWorkspace(t, db, "acme")
	crashSetup(t, stale)
	takeOvers, staleWriting := 0, false
	db.hooks.failAt = func(p string) error {
		switch {
		case p == "take-over":
			if takeOvers++; takeOvers == 1 {
				// The stale write is stored whole, and its puts never
				// sent, as if the stale writer froze just then.
				staleWriting = true
				if err := crashOps[0].op(t.Context(), stale); !errors.Is(err, errCrash) {
					t.Errorf("the stale write: %v", err)
				}
				staleWriting = false
			}
		case p == "wal" && staleWriting:
			return errCrash
		}
		return nil
	}
	t.Cleanup(func() { db.hooks.failAt = nil })
	holder := openWorkspace(t, db, "acme")
	db.hooks.failAt = nil
	if takeOvers != 2 {
		t.Errorf("%d tries to take the workspace over, want 2", takeOvers)
	}
	checkDump(t, 0, dump(t, db, "acme"), want)
	if _, err := stale.Checkpoint(t.Context()); !errors.Is(err, ErrFenced) {
		t.Errorf("the stale writer, broken, loads itself again: %v", err)
	}
	_, err := holder.Checkpoint(t.Context())
	ok(t, err)
}

// TestBufferedConnectionIsRefused: a connection that keeps publishes
// while it reconnects (nats.go's default) would send a write that failed
// later; DB.Workspace refuses it, DB.Status reads through it.
func TestBufferedConnectionIsRefused(t *testing.T) {
	srv, js := newServer(t)
	db := openDB(t, js, Options{})
	crashSetup(t, openWorkspace(t, db, "acme"))
	buffered, err := Open(context.Background(), natstest.Connect(t, srv.URL), Options{Bucket: db.bucket})
	ok(t, err)
	if _, err := buffered.Workspace(context.Background(), context.Background(), "acme"); err == nil || !strings.Contains(err.Error(), "nats.ReconnectBufSize(-1)") {
		t.Errorf("err = %v, want the option named", err)
	}
	st, err := buffered.Status(context.Background(), "acme")
	ok(t, err)
	if st.Contacts == 0 {
		t.Errorf("status %+v", st)
	}
}
