package statetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

func testCommit(t *testing.T, h *harness) {
	s := h.open(ws)
	if cp, err := s.Checkpoint(t.Context()); err != nil || len(cp) != 0 {
		t.Fatalf("new workspace's checkpoint %v, %v", cp, err)
	}
	commit(t, s, created(t, "1"), created(t, "2"), created(t, "3"))
	commit(t, s, updated(t, "2", "new@example.com"), deleted(t, "3"))

	cp, err := s.Checkpoint(t.Context())
	must(t, err)
	want := map[string]state.Entry{"1": *entry("1", 0), "2": *entry("2", 1)}
	if !reflect.DeepEqual(cp, want) {
		t.Errorf("checkpoint %+v, want %+v", cp, want)
	}
	snaps, err := s.Snapshots(t.Context(), []string{"1", "2", "3", "4"})
	must(t, err)
	wantSnaps := map[string]json.RawMessage{"1": raw("1", "1@example.com"), "2": raw("2", "new@example.com")}
	if len(snaps) != len(wantSnaps) {
		t.Errorf("snapshots of %d contacts, want %d: %s", len(snaps), len(wantSnaps), snaps)
	}
	for id, w := range wantSnaps {
		if !bytes.Equal(snaps[id], w) {
			t.Errorf("snapshot of %s: %s, want %s", id, snaps[id], w)
		}
	}
	if snaps, err := s.Snapshots(t.Context(), nil); err != nil || len(snaps) != 0 {
		t.Errorf("no snapshots asked for: %v, %v", snaps, err)
	}
	if n := status(t, s).Contacts; n != 2 {
		t.Errorf("status counts %d contacts, want 2", n)
	}
}

func testIDs(t *testing.T, h *harness) {
	s := h.open(ws)
	commit(t, s, created(t, "b"), created(t, "a"), created(t, "c10"), created(t, "c2"))
	commit(t, s, deleted(t, "c10"))
	ids, err := s.IDs(t.Context())
	if err != nil || !slices.Equal(ids, []string{"a", "b", "c2"}) {
		t.Errorf("ids %v, %v; want the tracked ones, sorted", ids, err)
	}
	commit(t, s, created(t, "0"))
	if ids, _ := s.IDs(t.Context()); !slices.Equal(ids, []string{"0", "a", "b", "c2"}) {
		t.Errorf("ids after a creation %v", ids)
	}
}

func testQueueOrder(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "a")
	commit(t, s, created(t, "1"), created(t, "2"))
	register(t, s, "b") // gets only what is committed from now on
	commit(t, s, updated(t, "1", "one@example.com"), deleted(t, "2"))

	a := queue(t, s, "a")
	if got, want := ids(a), []string{"msg_c1", "msg_c2", "msg_u1", "msg_d2"}; !slices.Equal(got, want) {
		t.Fatalf("a's queue %v, want %v", got, want)
	}
	if !slices.IsSorted(seqs(a)) || len(slices.Compact(seqs(a))) != 4 {
		t.Errorf("a's sequence numbers %v do not increase", seqs(a))
	}
	b := queue(t, s, "b")
	if got, want := ids(b), []string{"msg_u1", "msg_d2"}; !slices.Equal(got, want) {
		t.Fatalf("b's queue %v, want %v", got, want)
	}
	if !slices.Equal(seqs(b), seqs(a)[2:]) {
		t.Errorf("b's sequence numbers %v, want a's %v for the same changes", seqs(b), seqs(a)[2:])
	}

	// Every part of a change comes back as committed.
	u := a[2].Change
	if u.Kind != contact.Updated || !u.DetectedAt.Equal(detectedAt.Add(time.Minute)) || u.Contact.Email != "one@example.com" ||
		!bytes.Equal(u.Contact.Raw, raw("1", "one@example.com")) || u.Previous == nil || u.Previous.Email != "1@example.com" ||
		!slices.Equal(u.ChangedFields, []string{"email"}) {
		t.Errorf("the update came back as %+v", u)
	}
	if c := a[0].Change; c.Kind != contact.Created || c.Previous != nil || c.Contact.ID != "1" || !c.DetectedAt.Equal(detectedAt) {
		t.Errorf("the creation came back as %+v", c)
	}
	if d := a[3].Change; d.Kind != contact.Deleted || d.Contact.ID != "2" || d.Contact.Email != "2@example.com" {
		t.Errorf("the deletion came back as %+v", d)
	}
	if n := pending(t, s, "a"); n != 4 {
		t.Errorf("a pending %d, want 4", n)
	}
	_, err := s.Queue(t.Context(), "nope", 0, 10)
	notFound(t, "queue of an unknown sink", err)
	_, err = s.Pending(t.Context(), "nope")
	notFound(t, "pending of an unknown sink", err)
}

func testQueuePaging(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "a")
	for i := range 7 {
		commit(t, s, created(t, fmt.Sprint(i)))
	}
	all := queue(t, s, "a")
	var paged []state.Queued
	var after uint64
	for {
		page, err := s.Queue(t.Context(), "a", after, 3)
		must(t, err)
		if len(page) > 3 {
			t.Fatalf("a page of %d, limit 3", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	if !slices.Equal(ids(paged), ids(all)) || !slices.Equal(seqs(paged), seqs(all)) {
		t.Errorf("paged %v, want %v", ids(paged), ids(all))
	}
	// after need not be in the queue: the page starts at the next one.
	must(t, s.Ack(t.Context(), "a", []uint64{all[2].Seq}))
	if page, _ := s.Queue(t.Context(), "a", all[1].Seq, 2); !slices.Equal(seqs(page), []uint64{all[3].Seq, all[4].Seq}) {
		t.Errorf("after an acknowledged change: %v", seqs(page))
	}
	if page, _ := s.Queue(t.Context(), "a", all[6].Seq, 10); len(page) != 0 {
		t.Errorf("after the last: %v", ids(page))
	}
}

func testTouch(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "a")
	commit(t, s, created(t, "1"), created(t, "2"))
	touched := *entry("1", 0)
	touched.Raw = [16]byte{9, 9, 9}
	must(t, s.Touch(t.Context(), []state.Touch{{ID: "1", Entry: touched}}))
	cp, err := s.Checkpoint(t.Context())
	must(t, err)
	if cp["1"] != touched || cp["2"] != *entry("2", 0) {
		t.Errorf("checkpoint after touch %+v", cp)
	}
	if n := pending(t, s, "a"); n != 2 {
		t.Errorf("touch queued changes: %d pending, want 2", n)
	}
	if snaps, _ := s.Snapshots(t.Context(), []string{"1"}); !bytes.Equal(snaps["1"], raw("1", "1@example.com")) {
		t.Errorf("touch changed the snapshot: %s", snaps["1"])
	}
}

func testBackfill(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "old")
	order := []string{"b", "a", "c10", "c2", "gone"}
	for _, id := range order {
		commit(t, s, created(t, id))
	}
	commit(t, s, updated(t, "a", "a2@example.com"), deleted(t, "gone"))
	must(t, s.RegisterSink(t.Context(), "new", state.SinkInfo{Type: "csv", Target: "/x.csv", Backfilling: true}))
	next := 0
	at := detectedAt.Add(time.Hour)
	n, err := s.Backfill(t.Context(), "new", at, func() string { next++; return fmt.Sprintf("msg_b%d", next) })
	if err != nil || n != 4 {
		t.Fatalf("backfilled %d, %v; want 4", n, err)
	}
	q := queue(t, s, "new")
	if got, want := ids(q), []string{"msg_b1", "msg_b2", "msg_b3", "msg_b4"}; !slices.Equal(got, want) {
		t.Fatalf("back-filled queue %v, want %v", got, want)
	}
	for i, id := range []string{"a", "b", "c10", "c2"} { // the contacts in byte order
		c := q[i].Change
		if c.Kind != contact.Created || c.Contact.ID != id || !c.DetectedAt.Equal(at) || c.Previous != nil {
			t.Errorf("back-filled change %d: %+v, want the creation of %s", i, c, id)
		}
	}
	if email := q[0].Change.Contact.Email; email != "a2@example.com" {
		t.Errorf("back-filled a as %s, want its current snapshot", email)
	}
	if seqs(q)[0] <= seqs(queue(t, s, "old"))[6] {
		t.Errorf("back-filled sequence numbers %v do not follow the committed ones", seqs(q))
	}
	if sinks, _ := s.Sinks(t.Context()); sinks["new"].Backfilling || sinks["new"].Type != "csv" {
		t.Errorf("after the back-fill the sink is %+v", sinks["new"])
	}
	if n := pending(t, s, "old"); n != 7 {
		t.Errorf("the back-fill changed another sink's queue: %d pending, want 7", n)
	}
	// Committed after the back-fill: behind it.
	commit(t, s, created(t, "z"))
	if q := queue(t, s, "new"); len(q) != 5 || q[4].Change.ID != "msg_cz" {
		t.Errorf("queue after a later commit: %v", ids(q))
	}
	_, err = s.Backfill(t.Context(), "nope", at, func() string { return "x" })
	notFound(t, "back-fill of an unknown sink", err)
}

func testBigBackfill(t *testing.T, h *harness) {
	s := h.open(ws)
	const n = 2500
	var batch []state.Detected
	for i := range n {
		d := created(t, fmt.Sprintf("%05d", i))
		// Some size, so that backends that chunk their writes must.
		d.Change.Contact = parse(t, json.RawMessage(fmt.Sprintf(`{"id":"%05d","note":%q}`, i, bytes.Repeat([]byte("n"), 400))))
		batch = append(batch, d)
		if len(batch) == 1000 || i == n-1 {
			commit(t, s, batch...)
			batch = nil
		}
	}
	must(t, s.RegisterSink(t.Context(), "new", state.SinkInfo{Type: "csv", Backfilling: true}))
	got, err := s.Backfill(t.Context(), "new", detectedAt, func() string { return "msg" })
	if err != nil || got != n {
		t.Fatalf("backfilled %d, %v; want %d", got, err, n)
	}
	if p := pending(t, s, "new"); p != n {
		t.Errorf("pending %d, want %d", p, n)
	}
	q := queue(t, s, "new")
	for i, c := range q {
		if want := fmt.Sprintf("%05d", i); c.Change.Contact.ID != want {
			t.Fatalf("change %d is of contact %s, want %s", i, c.Change.Contact.ID, want)
		}
	}
	h.checkChanges(ws, n, "one per back-filled contact")
}

func testAck(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "a", "b")
	commit(t, s, created(t, "1"), created(t, "2"))
	q := queue(t, s, "a")
	must(t, s.Ack(t.Context(), "a", seqs(q)))
	if n := pending(t, s, "a"); n != 0 {
		t.Errorf("a pending %d after acknowledging all", n)
	}
	if n := pending(t, s, "b"); n != 2 {
		t.Errorf("b pending %d: acknowledging for a touched b", n)
	}
	h.checkChanges(ws, 2, "b still has to deliver both")
	if got := ids(queue(t, s, "b")); !slices.Equal(got, []string{"msg_c1", "msg_c2"}) {
		t.Errorf("b's queue %v after a's acknowledgement", got)
	}
	must(t, s.Ack(t.Context(), "b", []uint64{q[0].Seq}))
	h.checkChanges(ws, 1, "the change both acknowledged is gone")
	must(t, s.Ack(t.Context(), "b", nil))
	must(t, s.Ack(t.Context(), "b", []uint64{q[1].Seq}))
	h.checkChanges(ws, 0, "every change was acknowledged by every sink")
	if a, b := sinkStatus(t, s, "a"), sinkStatus(t, s, "b"); a.Delivered != 2 || b.Delivered != 2 || a.Pending != 0 || b.Pending != 0 {
		t.Errorf("status a %+v, b %+v", a, b)
	}
	notFound(t, "ack for an unknown sink", s.Ack(t.Context(), "nope", []uint64{1}))
}

func testDropSink(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "a", "b")
	commit(t, s, created(t, "1"), created(t, "2"))
	register(t, s, "c")
	commit(t, s, created(t, "3"))
	q := queue(t, s, "a")
	must(t, s.Bury(t.Context(), "b", []state.Burial{{Seq: q[0].Seq, Error: "422", At: detectedAt}}))
	must(t, s.Memo("b").Put(t.Context(), "1", []byte("m")))
	must(t, s.Ack(t.Context(), "a", seqs(q)[:2]))

	must(t, s.DropSink(t.Context(), "b"))
	if sinks, _ := s.Sinks(t.Context()); len(sinks) != 2 || sinks["b"].Type != "" {
		t.Errorf("sinks after dropping b: %v", sinks)
	}
	_, err := s.Pending(t.Context(), "b")
	notFound(t, "pending of a dropped sink", err)
	h.checkChanges(ws, 1, "only the change a and c still have to deliver is left")
	if got := ids(queue(t, s, "a")); !slices.Equal(got, []string{"msg_c3"}) {
		t.Errorf("a's queue after dropping b: %v", got)
	}
	must(t, s.DropSink(t.Context(), "b")) // dropping what is not there is no error
	must(t, s.DropSink(t.Context(), "a"))
	must(t, s.DropSink(t.Context(), "c"))
	h.checkChanges(ws, 0, "no sink is left")
	if st := status(t, s); len(st.Sinks) != 0 || st.Contacts != 3 {
		t.Errorf("status with every sink dropped: %+v", st)
	}
}

func testRegisterAgain(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "a")
	commit(t, s, created(t, "1"), created(t, "2"))
	q := queue(t, s, "a")
	must(t, s.Bury(t.Context(), "a", []state.Burial{{Seq: q[0].Seq, Error: "422", At: detectedAt}}))
	must(t, s.Memo("a").Put(t.Context(), "1", []byte("m")))
	must(t, s.UpdateSink(t.Context(), "a", func(info *state.SinkInfo) { info.Delivered = 9 }))

	info := state.SinkInfo{Type: "csv", Target: "/new.csv", Format: "v2", Backfilling: true}
	must(t, s.RegisterSink(t.Context(), "a", info))
	if sinks, _ := s.Sinks(t.Context()); !reflect.DeepEqual(sinks["a"], info) {
		t.Errorf("registered again as %+v, want %+v", sinks["a"], info)
	}
	if n := pending(t, s, "a"); n != 0 {
		t.Errorf("%d pending after registering again", n)
	}
	if st := sinkStatus(t, s, "a"); st.DeadLetters != 0 || st.Delivered != 0 {
		t.Errorf("status after registering again: %+v", st)
	}
	if n, err := s.Memo("a").Len(t.Context()); err != nil || n != 0 {
		t.Errorf("memo after registering again: %d, %v", n, err)
	}
	h.checkChanges(ws, 0, "the old queue and dead letters went with the old registration")
}

func testUpdateSink(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "a", "b")
	at := detectedAt
	must(t, s.UpdateSink(t.Context(), "a", func(info *state.SinkInfo) {
		info.LastError = "503"
		info.LastSuccessAt = &at
		info.Failures = []state.Failure{{Contact: "1", Error: "400"}}
	}))
	must(t, s.UpdateSink(t.Context(), "a", func(info *state.SinkInfo) { info.Delivered += 3 }))
	sinks, err := s.Sinks(t.Context())
	must(t, err)
	a := sinks["a"]
	if a.LastError != "503" || a.LastSuccessAt == nil || !a.LastSuccessAt.Equal(at) || a.Delivered != 3 ||
		len(a.Failures) != 1 || a.Failures[0] != (state.Failure{Contact: "1", Error: "400"}) || a.Type != "webhook" {
		t.Errorf("a after two updates: %+v", a)
	}
	if !reflect.DeepEqual(sinks["b"], state.SinkInfo{Type: "webhook", Target: "https://b.example/hook"}) {
		t.Errorf("b changed with a: %+v", sinks["b"])
	}
	notFound(t, "update of an unknown sink", s.UpdateSink(t.Context(), "nope", func(*state.SinkInfo) {}))
}

func testEnqueue(t *testing.T, h *harness) {
	s := h.open(ws)
	register(t, s, "a", "b")
	commit(t, s, created(t, "1"), created(t, "2"))
	gone := contact.Change{ID: "msg_r1", Kind: contact.Deleted, DetectedAt: detectedAt, Contact: parse(t, raw("9", ""))}
	again := updated(t, "1", "1@example.com").Change
	again.ID = "msg_r2"
	must(t, s.Enqueue(t.Context(), "a", []contact.Change{gone, again}))
	q := queue(t, s, "a")
	if got := ids(q); !slices.Equal(got, []string{"msg_c1", "msg_c2", "msg_r1", "msg_r2"}) {
		t.Fatalf("a's queue %v, want the enqueued changes after the committed ones", got)
	}
	if c := q[2].Change; c.Kind != contact.Deleted || c.Contact.ID != "9" {
		t.Errorf("enqueued change %+v, want the deletion of 9", c)
	}
	if got := ids(queue(t, s, "b")); !slices.Equal(got, []string{"msg_c1", "msg_c2"}) {
		t.Errorf("b's queue %v: enqueueing for a touched b", got)
	}
	h.checkChanges(ws, 4, "two committed, two enqueued")
	must(t, s.Ack(t.Context(), "a", seqs(q[2:])))
	h.checkChanges(ws, 2, "the enqueued changes are gone with their one reference")
	notFound(t, "enqueue for an unknown sink", s.Enqueue(t.Context(), "nope", []contact.Change{gone}))
}
