package natsstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

var at = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// detected is a change of a contact with a note, as the engine commits it.
func detected(id string, kind contact.Kind, note string) state.Detected {
	c, err := contact.Parse(fmt.Appendf(nil, `{"id":%q,"email":"%s@example.com","note":%q}`, id, id, note))
	if err != nil {
		panic(err)
	}
	d := state.Detected{Change: contact.Change{ID: "msg_" + string(kind) + id, Kind: kind, DetectedAt: at, Contact: c}}
	if kind != contact.Deleted {
		d.Entry = &state.Entry{Hash: [16]byte{byte(len(note))}, LastActivityAt: note}
	}
	return d
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// crashSetup is the state every crash test starts from: two sinks with
// queues, a dead letter, a memo, a disabled sink.
func crashSetup(t testing.TB, w *Workspace) {
	t.Helper()
	ok(t, w.RegisterSink(t.Context(), "a", state.SinkInfo{Type: "webhook"}))
	ok(t, w.RegisterSink(t.Context(), "b", state.SinkInfo{Type: "csv"}))
	ok(t, w.Commit(t.Context(), []state.Detected{detected("1", contact.Created, "x"), detected("2", contact.Created, "x"), detected("3", contact.Created, "x")}))
	ok(t, w.Bury(t.Context(), "a", []state.Burial{{Seq: 1, Error: "422", At: at}, {Seq: 2, Error: "422", At: at}}))
	ok(t, w.Commit(t.Context(), []state.Detected{detected("2", contact.Updated, "yy"), detected("3", contact.Deleted, "")}))
	ok(t, w.Memo("b").Put(t.Context(), "1", []byte("href")))
	ok(t, w.UpdateSink(t.Context(), "a", func(info *state.SinkInfo) { info.Disabled = "410" }))
}

// crashOps are the writes a crash may interrupt, each after crashSetup.
var crashOps = []struct {
	name string
	op   func(ctx context.Context, w *Workspace) error
}{
	{"commit", func(ctx context.Context, w *Workspace) error {
		return w.Commit(ctx, []state.Detected{
			detected("4", contact.Created, "z"), detected("1", contact.Updated, "zz"), detected("2", contact.Deleted, ""),
		})
	}},
	{"touch", func(ctx context.Context, w *Workspace) error {
		return w.Touch(ctx, []state.Touch{{ID: "1", Entry: state.Entry{Raw: [16]byte{7}}}, {ID: "2", Entry: state.Entry{Raw: [16]byte{8}}}})
	}},
	{"ack", func(ctx context.Context, w *Workspace) error { return w.Ack(ctx, "b", []uint64{1, 2, 4}) }},
	{"ack-last-reference", func(ctx context.Context, w *Workspace) error { return w.Ack(ctx, "a", []uint64{3, 4, 5}) }},
	{"bury", func(ctx context.Context, w *Workspace) error {
		return w.Bury(ctx, "b", []state.Burial{{Seq: 1, Error: "400", At: at}, {Seq: 4, Error: "400", At: at}})
	}},
	{"redeliver", func(ctx context.Context, w *Workspace) error { _, err := w.Redeliver(ctx, "a", ""); return err }},
	{"redeliver-one", func(ctx context.Context, w *Workspace) error {
		_, err := w.Redeliver(ctx, "a", "msg_created2")
		return err
	}},
	{"drop-sink", func(ctx context.Context, w *Workspace) error { return w.DropSink(ctx, "b") }},
	{"drop-sink-with-letters", func(ctx context.Context, w *Workspace) error { return w.DropSink(ctx, "a") }},
	{"register-again", func(ctx context.Context, w *Workspace) error {
		return w.RegisterSink(ctx, "b", state.SinkInfo{Type: "csv", Target: "new"})
	}},
	{"backfill", func(ctx context.Context, w *Workspace) error {
		if err := w.RegisterSink(ctx, "c", state.SinkInfo{Type: "csv", Backfilling: true}); err != nil {
			return err
		}
		n := 0
		_, err := w.Backfill(ctx, "c", at, func() string { n++; return fmt.Sprint("msg_b", n) })
		return err
	}},
	{"begin-imports", func(ctx context.Context, w *Workspace) error { return w.BeginImports(ctx, []string{"f1", "f2", "f3"}) }},
}

// errCrash is what the injected failures return.
var errCrash = errors.New("injected crash")

// failAtHit makes the nth hit of point fail, and the write with it; n 0
// fails none. It returns the count of hits so far.
func failAtHit(t *testing.T, db *DB, point string, n int) *int {
	hits := 0
	db.hooks.failAt = func(p string) error {
		if p != point {
			return nil
		}
		if hits++; hits == n {
			return errCrash
		}
		return nil
	}
	t.Cleanup(func() { db.hooks.failAt = nil })
	return &hits
}

// TestCrashedWriteIsFinishedOnOpen interrupts each write after its
// write-ahead record is stored, and after half of it is applied, and
// checks that the workspace, opened again, holds exactly what the whole
// write gives, key by key, byte for byte. An operation of several writes
// (a registration and the collection of what the old one left) is
// interrupted at each.
func TestCrashedWriteIsFinishedOnOpen(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	run := 0
	fresh := func(t *testing.T) (*Workspace, string) {
		run++
		name := fmt.Sprint("w", run)
		w := openWorkspace(t, db, name)
		crashSetup(t, w)
		return w, name
	}
	for _, tt := range crashOps {
		for _, point := range []string{"wal", "apply"} {
			t.Run(tt.name+"/"+point, func(t *testing.T) {
				w, ref := fresh(t)
				before := dump(t, db, ref)
				hits := failAtHit(t, db, point, 0)
				ok(t, tt.op(t.Context(), w))
				writes := *hits
				want := dump(t, db, ref)
				if maps.Equal(before, want) || writes == 0 {
					t.Fatalf("%s changes nothing (%d writes)", tt.name, writes)
				}
				first := 1
				if tt.name == "backfill" {
					first = writes // its first writes register the sink
				}
				crash := func(n int) (*Workspace, string) {
					w, name := fresh(t)
					failAtHit(t, db, point, n)
					if err := tt.op(t.Context(), w); !errors.Is(err, errCrash) {
						t.Fatalf("write %d: the crash did not happen: %v", n, err)
					}
					db.hooks.failAt = nil
					return w, name
				}
				for n := first; n <= writes; n++ {
					// Opened again, as by another instance: the new
					// handle fences the failed one out.
					w, name := crash(n)
					openWorkspace(t, db, name)
					checkDump(t, n, dump(t, db, name), want)
					if _, err := w.Checkpoint(t.Context()); !errors.Is(err, ErrFenced) {
						t.Errorf("write %d: the failed handle, once another was opened: %v, want it fenced out", n, err)
					}
					// The handle that failed, alone, loads itself again.
					w, name = crash(n)
					got := viewOf(t, w)
					checkDump(t, n, dump(t, db, name), want)
					if want := viewOf(t, openWorkspace(t, db, name)); !slices.Equal(got, want) {
						t.Errorf("write %d: the failed handle sees\n%v\nthe reopened one\n%v", n, got, want)
					}
				}
			})
		}
	}
}

func checkDump(t *testing.T, write int, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			t.Errorf("crash at write %d: %s = %q, want %q", write, k, got[k], want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("crash at write %d: %s = %q, want no such key", write, k, got[k])
		}
	}
}

// viewOf is what a workspace shows through its methods.
func viewOf(t testing.TB, w *Workspace) []string {
	t.Helper()
	var out []string
	cp, err := w.Checkpoint(t.Context())
	ok(t, err)
	for _, id := range slices.Sorted(maps.Keys(cp)) {
		out = append(out, fmt.Sprintf("entry %s %x", id, cp[id].Encode()))
	}
	sinks, err := w.Sinks(t.Context())
	ok(t, err)
	for _, name := range slices.Sorted(maps.Keys(sinks)) {
		q, err := w.Queue(t.Context(), name, 0, 1000)
		ok(t, err)
		for _, c := range q {
			out = append(out, fmt.Sprintf("sink %s %d %s %s %s", name, c.Seq, c.Change.ID, c.Change.Kind, c.Change.Contact.Raw))
		}
		n, err := w.Memo(name).Len(t.Context())
		ok(t, err)
		out = append(out, fmt.Sprintf("sink %s %+v memos %d", name, sinks[name], n))
	}
	st, err := w.Status(t.Context())
	ok(t, err)
	b, err := json.Marshal(st)
	ok(t, err)
	out = append(out, string(b))
	return out
}
