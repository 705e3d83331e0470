package statetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

func testBuryAndRedeliver(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "hook")
	commit(t, s, created(t, "1"), created(t, "2"), created(t, "3"))
	q := queue(t, s, "hook")
	at := detectedAt
	must(t, s.Bury(t.Context(), "hook", []state.Burial{{Seq: q[0].Seq, Error: "400 Bad Request", At: at}, {Seq: q[1].Seq, Error: "422", At: at}}))
	must(t, s.Bury(t.Context(), "hook", nil))
	must(t, s.Ack(t.Context(), "hook", []uint64{q[2].Seq}))
	must(t, s.UpdateSink(t.Context(), "hook", func(info *state.SinkInfo) { info.Disabled = "410 Gone" }))

	st := sinkStatus(t, s, "hook")
	if st.Pending != 0 || st.DeadLetters != 2 || st.Disabled != "410 Gone" || len(st.DeadLetterList) != 2 {
		t.Fatalf("status after burying two: %+v", st)
	}
	want := state.DeadLetter{Event: "msg_c1", Contact: "1", Kind: contact.Created, Error: "400 Bad Request", At: at}
	if l := st.DeadLetterList[0]; l.Event != want.Event || l.Contact != want.Contact || l.Kind != want.Kind || l.Error != want.Error || !l.At.Equal(at) {
		t.Errorf("first dead letter %+v, want %+v", l, want)
	}
	h.checkChanges(ws, 2, "the dead letters keep their records")

	_, err := s.Redeliver(t.Context(), "hook", "msg_c9")
	notFound(t, "redelivering an unknown event", err)
	if n, err := s.Redeliver(t.Context(), "hook", "msg_c2"); err != nil || n != 1 {
		t.Fatalf("redeliver one: %d, %v", n, err)
	}
	if back := queue(t, s, "hook"); len(back) != 1 || back[0].Change.ID != "msg_c2" || back[0].Seq != q[1].Seq {
		t.Errorf("queue after redelivering msg_c2: %+v", back)
	}
	if n, err := s.Redeliver(t.Context(), "hook", ""); err != nil || n != 1 {
		t.Errorf("redeliver all moved %d, %v; want 1", n, err)
	}
	if st := sinkStatus(t, s, "hook"); st.Pending != 2 || st.DeadLetters != 0 || st.Disabled != "" || len(st.DeadLetterList) != 0 {
		t.Errorf("status after redelivering all: %+v", st)
	}
	back := queue(t, s, "hook")
	if !slices.Equal(seqs(back), seqs(q)[:2]) {
		t.Errorf("redelivered under %v, want their own sequence numbers %v", seqs(back), seqs(q)[:2])
	}
	must(t, s.Ack(t.Context(), "hook", seqs(back)))
	h.checkChanges(ws, 0, "every letter was delivered")
	_, err = s.Redeliver(t.Context(), "nope", "")
	notFound(t, "redeliver to an unknown sink", err)
	notFound(t, "bury for an unknown sink", s.Bury(t.Context(), "nope", []state.Burial{{Seq: 1}}))
}

func testRedeliverRefreshes(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "hook", "other")
	commit(t, s, created(t, "1"), created(t, "2"), created(t, "3"))
	q := queue(t, s, "hook")
	must(t, s.Bury(t.Context(), "hook", []state.Burial{{Seq: q[0].Seq, Error: "422"}, {Seq: q[1].Seq, Error: "422"}, {Seq: q[2].Seq, Error: "422"}}))

	// Since then contact 1 was deleted, 2 changed, and 3 was deleted and
	// created again.
	commit(t, s, deleted(t, "1"))
	commit(t, s, updated(t, "2", "new@example.com"))
	commit(t, s, deleted(t, "3"))
	commit(t, s, updated(t, "3", "back@example.com"))
	must(t, s.Ack(t.Context(), "hook", seqs(queue(t, s, "hook"))))

	if n, err := s.Redeliver(t.Context(), "hook", ""); err != nil || n != 3 {
		t.Fatalf("redelivered %d, %v", n, err)
	}
	back := queue(t, s, "hook")
	if len(back) != 3 {
		t.Fatalf("queue after redelivering: %v", ids(back))
	}
	if c := back[0].Change; c.Kind != contact.Deleted || c.ID != "msg_c1" || c.Contact.ID != "1" {
		t.Errorf("the letter of a contact deleted since: %+v, want its deletion", c)
	}
	if c := back[1].Change; c.Kind != contact.Created || c.Contact.Email != "new@example.com" || c.ID != "msg_c2" {
		t.Errorf("the letter of a contact changed since: %+v, want its current snapshot", c)
	}
	if c := back[2].Change; c.Kind != contact.Created || c.Contact.Email != "back@example.com" || c.ID != "msg_c3" {
		t.Errorf("the letter of a contact created again: %+v, want its current snapshot", c)
	}
	// The other sink shares the record: it now delivers the contact as it is.
	if o := queue(t, s, "other"); len(o) != 7 || o[0].Change.Kind != contact.Deleted {
		t.Errorf("the other sink's queue: %v", ids(o))
	}
}

func testRedeliverEnables(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "hook")
	must(t, s.UpdateSink(t.Context(), "hook", func(info *state.SinkInfo) { info.Disabled = "410 Gone" }))
	if n, err := s.Redeliver(t.Context(), "hook", ""); err != nil || n != 0 {
		t.Errorf("redeliver without letters: %d, %v", n, err)
	}
	if sinks, _ := s.Sinks(t.Context()); sinks["hook"].Disabled != "" {
		t.Errorf("still disabled: %+v", sinks["hook"])
	}
}

func testStatus(t *testing.T, h *harness) {
	s := h.open(ws)
	if st := status(t, s); st.Workspace != ws || st.LastRun != nil || st.LastSuccessAt != nil || st.Contacts != 0 || len(st.Sinks) != 0 {
		t.Errorf("a new workspace's status %+v", st)
	}
	register(t, s, "zeta", "alpha")
	commit(t, s, created(t, "1"), created(t, "2"), created(t, "3"))
	q := queue(t, s, "alpha")
	must(t, s.Ack(t.Context(), "alpha", []uint64{q[0].Seq}))
	must(t, s.Bury(t.Context(), "alpha", []state.Burial{{Seq: q[1].Seq, Error: "422", At: detectedAt}}))
	ok := detectedAt.Add(time.Hour)
	must(t, s.UpdateSink(t.Context(), "alpha", func(info *state.SinkInfo) {
		info.LastError = "1 contacts could not be delivered"
		info.LastSuccessAt = &ok
		info.Failures = []state.Failure{{Contact: "3", Error: "400"}}
	}))
	must(t, s.UpdateSink(t.Context(), "zeta", func(info *state.SinkInfo) { info.Disabled = "410 Gone" }))
	runs := []state.Run{
		{StartedAt: ok.Add(-time.Second), FinishedAt: ok, Result: state.RunSucceeded},
		{StartedAt: ok.Add(time.Minute), FinishedAt: ok.Add(2 * time.Minute), Result: state.RunFailed, Error: "source: contacts: 503"},
	}
	for _, r := range runs {
		must(t, s.RecordRun(t.Context(), r))
	}

	st := status(t, s)
	if st.LastRun == nil || st.LastRun.Result != state.RunFailed || st.LastRun.Error != runs[1].Error || !st.LastRun.StartedAt.Equal(runs[1].StartedAt) ||
		!st.LastRun.FinishedAt.Equal(runs[1].FinishedAt) {
		t.Errorf("last run %+v, want %+v", st.LastRun, runs[1])
	}
	if st.LastSuccessAt == nil || !st.LastSuccessAt.Equal(ok) {
		t.Errorf("last success %v, want %v: a failed run leaves it", st.LastSuccessAt, ok)
	}
	if st.Contacts != 3 || len(st.Sinks) != 2 || st.Sinks[0].Name != "alpha" || st.Sinks[1].Name != "zeta" {
		t.Fatalf("status %+v, want 3 contacts and the sinks in name order", st)
	}
	a := st.Sinks[0]
	if a.Type != "webhook" || a.Delivered != 1 || a.Pending != 1 || a.DeadLetters != 1 || a.LastError != "1 contacts could not be delivered" ||
		a.LastSuccessAt == nil || !a.LastSuccessAt.Equal(ok) || a.Disabled != "" || len(a.Failures) != 1 || len(a.DeadLetterList) != 1 ||
		a.DeadLetterList[0].Event != "msg_c2" {
		t.Errorf("alpha's status %+v", a)
	}
	if z := st.Sinks[1]; z.Pending != 3 || z.Disabled != "410 Gone" || z.Delivered != 0 || z.DeadLetters != 0 || z.DeadLetterList != nil {
		t.Errorf("zeta's status %+v", z)
	}
	must(t, s.RecordRun(t.Context(), state.Run{StartedAt: ok, FinishedAt: ok.Add(time.Hour), Result: state.RunStopped, Error: "stopped"}))
	if st := status(t, s); st.LastRun.Result != state.RunStopped || !st.LastSuccessAt.Equal(ok) {
		t.Errorf("after a stopped run: %+v, last success %v", st.LastRun, st.LastSuccessAt)
	}
}

func testStatusDeadLetters(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "hook")
	const n = state.StatusDeadLetters + 5
	var batch []state.Detected
	for i := range n {
		batch = append(batch, created(t, fmt.Sprintf("%02d", i)))
	}
	commit(t, s, batch...)
	q := queue(t, s, "hook")
	// Buried newest first: the list is in the order of the changes.
	var burials []state.Burial
	for i := n - 1; i >= 0; i-- {
		burials = append(burials, state.Burial{Seq: q[i].Seq, Error: fmt.Sprint("e", i), At: detectedAt})
	}
	must(t, s.Bury(t.Context(), "hook", burials[:10]))
	must(t, s.Bury(t.Context(), "hook", burials[10:]))
	st := sinkStatus(t, s, "hook")
	if st.DeadLetters != n || len(st.DeadLetterList) != state.StatusDeadLetters {
		t.Fatalf("%d dead letters, %d listed; want %d, %d", st.DeadLetters, len(st.DeadLetterList), n, state.StatusDeadLetters)
	}
	for i, l := range st.DeadLetterList {
		if want := fmt.Sprintf("msg_c%02d", i); l.Event != want || l.Error != fmt.Sprint("e", i) {
			t.Errorf("dead letter %d: %+v, want %s", i, l, want)
		}
	}
}

func testMemo(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "dav", "other")
	m := s.Memo("dav")
	if v, err := m.Get(t.Context(), "1"); err != nil || v != nil {
		t.Fatalf("empty memo: %q, %v", v, err)
	}
	const card = `{"href":"/book/1.vcf","etag":"\"a\""}`
	must(t, m.Put(t.Context(), "1", []byte(card)))
	must(t, m.Put(t.Context(), "2", []byte("x")))
	must(t, m.Put(t.Context(), "3", []byte("y")))
	must(t, m.Put(t.Context(), "3", []byte("z")))
	must(t, m.Delete(t.Context(), "2"))
	must(t, m.Delete(t.Context(), "never"))
	must(t, s.Memo("other").Put(t.Context(), "1", []byte("other's")))
	if v, _ := m.Get(t.Context(), "1"); string(v) != card {
		t.Errorf("Get(1) = %q", v)
	}
	if v, _ := m.Get(t.Context(), "3"); string(v) != "z" {
		t.Errorf("Get(3) = %q after two puts", v)
	}
	if v, err := m.Get(t.Context(), "2"); err != nil || v != nil {
		t.Errorf("Get(2) after delete: %q, %v", v, err)
	}
	if n, err := m.Len(t.Context()); err != nil || n != 2 {
		t.Errorf("Len = %d, %v; want 2", n, err)
	}
	if v, _ := s.Memo("other").Get(t.Context(), "1"); string(v) != "other's" {
		t.Errorf("the other sink's memo: %q", v)
	}
	// A new target registers the sink again: its memo is gone.
	must(t, s.RegisterSink(t.Context(), "dav", state.SinkInfo{Type: "carddav", Target: "https://other.example/book/"}))
	if n, err := m.Len(t.Context()); err != nil || n != 0 {
		t.Errorf("Len after registering again = %d, %v; want 0", n, err)
	}
	if v, _ := m.Get(t.Context(), "1"); v != nil {
		t.Errorf("Get after registering again = %q", v)
	}
	must(t, s.DropSink(t.Context(), "other"))
	notFound(t, "memo put for a dropped sink", s.Memo("other").Put(t.Context(), "1", []byte("x")))
	must(t, s.RegisterSink(t.Context(), "other", state.SinkInfo{Type: "carddav"}))
	if v, err := s.Memo("other").Get(t.Context(), "1"); err != nil || v != nil {
		t.Errorf("a dropped sink's memo came back: %q, %v", v, err)
	}
	notFound(t, "memo put for an unknown sink", s.Memo("nope").Put(t.Context(), "1", nil))
}

func testImports(t *testing.T, h *harness) {
	s := h.open(ws)
	check := func(fp string, want state.Import, wantFound bool) {
		t.Helper()
		got, found, err := s.ImportedContact(t.Context(), fp)
		if err != nil || got != want || found != wantFound {
			t.Errorf("ImportedContact(%s) = %+v, %v, %v; want %+v, %v", fp, got, found, err, want, wantFound)
		}
	}
	check("a", state.Import{}, false)
	must(t, s.BeginImports(t.Context(), []string{"a", "b", "c"}))
	check("a", state.Import{}, true)
	if imp, _, _ := s.ImportedContact(t.Context(), "a"); !imp.Pending() {
		t.Error("a begun import is not pending")
	}
	must(t, s.RecordImport(t.Context(), "c", "9"))
	must(t, s.BeginImports(t.Context(), []string{"c"}))
	check("c", state.Import{}, true) // created again: contact 9 is gone
	must(t, s.RecordImport(t.Context(), "a", "17"))
	check("a", state.Import{ContactID: "17"}, true)
	must(t, s.AbandonImport(t.Context(), "b"))
	check("b", state.Import{}, false)
	must(t, s.AbandonImport(t.Context(), "a"))
	check("a", state.Import{ContactID: "17"}, true) // a created contact is never forgotten
	must(t, s.AbandonImport(t.Context(), "never-begun"))
	if err := s.RecordImport(t.Context(), "b", ""); err == nil {
		t.Error("an empty contact id was recorded")
	}
	// Fingerprints are opaque strings.
	odd := "sha256:+/=é ."
	must(t, s.BeginImports(t.Context(), []string{odd}))
	must(t, s.RecordImport(t.Context(), odd, "5"))

	s = h.reopen(ws)
	check("a", state.Import{ContactID: "17"}, true)
	check("c", state.Import{}, true)
	check(odd, state.Import{ContactID: "5"}, true)
}
