package statetest

import (
	"reflect"
	"slices"
	"testing"

	"github.com/connect-sync/connect-sync/internal/state"
)

func testReopen(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "a", "b")
	commit(t, s, created(t, "1"), created(t, "2"), created(t, "3"))
	q := queue(t, s, "a")
	must(t, s.Ack(t.Context(), "a", []uint64{q[0].Seq}))
	must(t, s.Bury(t.Context(), "b", []state.Burial{{Seq: q[1].Seq, Error: "422", At: detectedAt}}))
	must(t, s.Memo("b").Put(t.Context(), "1", []byte("m")))
	must(t, s.RecordRun(t.Context(), state.Run{FinishedAt: detectedAt, Result: state.RunSucceeded}))
	before := snapshot(t, s)

	s = h.reopen(ws)
	if after := snapshot(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("after reopening:\n%+v\nbefore:\n%+v", after, before)
	}
	if v, _ := s.Memo("b").Get(t.Context(), "1"); string(v) != "m" {
		t.Errorf("memo after reopening: %q", v)
	}

	// Sequence numbers go on increasing, even past acknowledged changes.
	must(t, s.Ack(t.Context(), "a", seqs(queue(t, s, "a"))))
	must(t, s.Ack(t.Context(), "b", seqs(queue(t, s, "b"))))
	s = h.reopen(ws)
	commit(t, s, updated(t, "1", "x@example.com"))
	next := queue(t, s, "a")
	if len(next) != 1 || next[0].Seq <= q[2].Seq {
		t.Errorf("after reopening, a new change got sequence number %v, want more than %d", seqs(next), q[2].Seq)
	}
	must(t, s.RegisterSink(t.Context(), "c", state.SinkInfo{Type: "csv", Backfilling: true}))
	if _, err := s.Backfill(t.Context(), "c", detectedAt, func() string { return "msg" }); err != nil {
		t.Fatal(err)
	}
	if c := queue(t, s, "c"); len(c) != 3 || c[0].Seq <= next[0].Seq || !slices.IsSorted(seqs(c)) {
		t.Errorf("back-filled sequence numbers %v after %d", seqs(c), next[0].Seq)
	}
}

// state is what a store shows through its interface, for comparisons.
type view struct {
	Checkpoint map[string]state.Entry
	Sinks      map[string]state.SinkInfo
	Queues     map[string][]string
	Seqs       map[string][]uint64
	Status     state.Status
}

func snapshot(t *testing.T, s state.Store) view {
	t.Helper()
	v := view{Queues: map[string][]string{}, Seqs: map[string][]uint64{}}
	var err error
	v.Checkpoint, err = s.Checkpoint(t.Context())
	must(t, err)
	v.Sinks, err = s.Sinks(t.Context())
	must(t, err)
	for name := range v.Sinks {
		q := queue(t, s, name)
		v.Queues[name], v.Seqs[name] = ids(q), seqs(q)
	}
	v.Status = status(t, s)
	return v
}

func testWorkspaces(t *testing.T, h *harness) {
	b, a := h.open("b"), h.open("a")
	register(t, a, "hook")
	register(t, b, "hook")
	commit(t, a, created(t, "1"), created(t, "2"))
	must(t, a.RecordRun(t.Context(), state.Run{FinishedAt: detectedAt, Result: state.RunSucceeded}))
	must(t, a.BeginImports(t.Context(), []string{"fp"}))
	must(t, a.Memo("hook").Put(t.Context(), "1", []byte("m")))
	must(t, a.UpdateSink(t.Context(), "hook", func(info *state.SinkInfo) { info.LastError = "503" }))
	must(t, a.Bury(t.Context(), "hook", []state.Burial{{Seq: queue(t, a, "hook")[0].Seq, Error: "422", At: detectedAt}}))
	if st := status(t, a); st.Workspace != "a" || st.Contacts != 2 || st.LastRun == nil || st.Sinks[0].Pending != 1 || st.Sinks[0].DeadLetters != 1 {
		t.Fatalf("a's status %+v", st)
	}

	reads := []struct {
		name string
		read func() (any, error)
		want any
	}{
		{"checkpoint", func() (any, error) { cp, err := b.Checkpoint(t.Context()); return len(cp), err }, 0},
		{"snapshots", func() (any, error) { s, err := b.Snapshots(t.Context(), []string{"1", "2"}); return len(s), err }, 0},
		{"sinks", func() (any, error) { return b.Sinks(t.Context()) }, map[string]state.SinkInfo{"hook": {Type: "webhook", Target: "https://hook.example/hook"}}},
		{"queue", func() (any, error) { q, err := b.Queue(t.Context(), "hook", 0, 10); return len(q), err }, 0},
		{"pending", func() (any, error) { return b.Pending(t.Context(), "hook") }, 0},
		{"status", func() (any, error) { return b.Status(t.Context()) }, state.Status{Workspace: "b", Sinks: []state.SinkStatus{{Name: "hook", Type: "webhook"}}}},
		{"memo", func() (any, error) { return b.Memo("hook").Get(t.Context(), "1") }, []byte(nil)},
		{"import", func() (any, error) { _, found, err := b.ImportedContact(t.Context(), "fp"); return found, err }, false},
	}
	for _, r := range reads {
		got, err := r.read()
		if err != nil || !reflect.DeepEqual(got, r.want) {
			t.Errorf("b's %s: %#v, %v; want %#v", r.name, got, err, r.want)
		}
	}

	// Writes to b leave a alone in turn.
	commit(t, b, created(t, "3"))
	if n := pending(t, a, "hook"); n != 1 {
		t.Errorf("a's pending %d after a commit in b, want 1", n)
	}
	must(t, a.DropSink(t.Context(), "hook"))
	if n := pending(t, b, "hook"); n != 1 {
		t.Errorf("b's pending %d after a dropped its sink of the same name", n)
	}
	h.checkChanges("b", 1, "b's change")
	h.checkChanges("a", 0, "a's sink is gone")
}
