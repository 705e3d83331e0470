// Package sinktest is the behaviour every sink must show, the contract of
// sinks.Sink that the engine relies on: one error per change in order,
// changes delivered twice leaving the destination as once, a contact's
// changes applied in order, nothing acknowledged from a destination that
// is down or a run that was cancelled, and a panic kept to its change. Run
// runs it against one sink type.
package sinktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Destination is one new, empty destination of the sink type under test.
type Destination struct {
	// Open opens a sink of the type on the destination, with env.
	Open func(env sinks.Env) (sinks.Sink, error)
	// Contents returns one entry per contact the destination holds now,
	// in any order: its form there (a CSV row, a card, the contact of the
	// last event about it).
	Contents func() []string
	// Break makes the destination unavailable as a whole, for good: its
	// folder gone, its server down.
	Break func()
	// Panic, when set, makes the sink panic while it delivers the contact
	// of that id, for a sink type that has a place to make it panic (an
	// HTTP transport).
	Panic func(contactID string)
	// Lose and Edit, set for a sink that reads its destination back
	// (sinks.Auditor), change the destination behind the sink's back:
	// Lose removes a contact's copy, Edit changes what it holds. Foreign,
	// when set, puts there something the sink did not write, which it must
	// leave alone.
	Lose, Edit func(contactID string)
	Foreign    func()
}

// Run runs the suite. newDestination is called once per test.
func Run(t *testing.T, newDestination func(t *testing.T) Destination) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"DeliversEveryKindOfChange", testDelivers},
		{"DeliveringTwiceIsDeliveringOnce", testTwice},
		{"AContactsChangesApplyInOrder", testOrder},
		{"AFailedDestinationAcknowledgesNothing", testUnavailable},
		{"ACancelledRunAcknowledgesNothing", testCancelled},
		{"APanicFailsItsChangeOnly", testPanic},
		{"AuditFindsDriftAndDeliveriesRepairIt", testAudit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &harness{t: t, dest: newDestination(t), model: map[string]string{}, version: map[string]int{}}
			tt.fn(t, h)
		})
	}
}

// harness is one test's destination, its sink, and the contacts it should
// hold: id → the email of the contact's last version.
type harness struct {
	t       *testing.T
	dest    Destination
	sink    sinks.Sink
	logs    syncBuffer
	model   map[string]string
	version map[string]int
}

func (h *harness) open() {
	h.t.Helper()
	s, err := h.dest.Open(sinks.Env{
		Name:      "suite",
		Workspace: "default",
		Logger:    slog.New(slog.NewTextHandler(&h.logs, nil)),
		SourceURL: "https://api.example.com",
		Memo:      NewMemo(),
	})
	if err != nil {
		h.t.Fatalf("open: %v", err)
	}
	if c, ok := s.(io.Closer); ok {
		h.t.Cleanup(func() { c.Close() })
	}
	h.sink = s
}

// change makes the next change of contact id; its email names the
// contact and its version, which the destination's contents must show.
func (h *harness) change(kind contact.Kind, id string) contact.Change {
	h.t.Helper()
	prev := h.contact(id, h.version[id])
	if kind != contact.Deleted {
		h.version[id]++
	}
	cur := h.contact(id, h.version[id])
	ch := contact.Change{
		ID:         fmt.Sprintf("msg_%s_%s_v%d", kind, id, h.version[id]),
		Kind:       kind,
		DetectedAt: time.Now(),
		Contact:    cur,
	}
	switch kind {
	case contact.Updated:
		ch.Previous, ch.ChangedFields = &prev, []string{"email"}
	case contact.Deleted:
		ch.Previous = &cur
	}
	return ch
}

func (h *harness) contact(id string, version int) contact.Contact {
	h.t.Helper()
	raw := fmt.Sprintf(`{"id":%s,"email":"c%s-v%d@example.com","firstName":"Ann","lastName":"Lee %s"}`, id, id, version, id)
	c, err := contact.Parse([]byte(raw))
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// changes makes a change of each contact of ids.
func (h *harness) changes(kind contact.Kind, ids ...string) []contact.Change {
	batch := make([]contact.Change, len(ids))
	for i, id := range ids {
		batch[i] = h.change(kind, id)
	}
	return batch
}

// deliver hands the batch to the sink, with a Committer's commit, and
// returns one error per change: what the engine would acknowledge.
func (h *harness) deliver(ctx context.Context, batch []contact.Change) []error {
	h.t.Helper()
	errs := h.sink.Deliver(ctx, batch)
	if len(errs) != len(batch) {
		h.t.Fatalf("Deliver returned %d errors for %d changes", len(errs), len(batch))
	}
	if c, ok := h.sink.(sinks.Committer); ok {
		if err := c.Commit(ctx); err != nil {
			for i := range errs {
				if errs[i] == nil {
					errs[i] = err
				}
			}
		}
	}
	return errs
}

// deliverAll delivers the batch, every change of which must be
// acknowledged, and keeps the model.
func (h *harness) deliverAll(batch []contact.Change) {
	h.t.Helper()
	for i, err := range h.deliver(h.t.Context(), batch) {
		if err != nil {
			h.t.Fatalf("change %d (%s of contact %s): %v", i, batch[i].Kind, batch[i].Contact.ID, err)
		}
	}
	h.apply(batch)
}

func (h *harness) apply(batch []contact.Change) {
	for _, ch := range batch {
		if ch.Kind == contact.Deleted {
			delete(h.model, ch.Contact.ID)
		} else {
			h.model[ch.Contact.ID] = ch.Contact.Email
		}
	}
}

// expect checks that the destination holds exactly the model's contacts,
// each in its last version.
func (h *harness) expect() {
	h.t.Helper()
	got := h.dest.Contents()
	for id, email := range h.model {
		n := 0
		for _, entry := range got {
			if strings.Contains(entry, email) {
				n++
			}
		}
		if n != 1 {
			h.t.Errorf("contact %s (%s) is in the destination %d times, want once", id, email, n)
		}
	}
	if len(got) != len(h.model) {
		h.t.Errorf("the destination holds %d contacts, want %d:\n%s", len(got), len(h.model), strings.Join(got, "\n"))
	}
}

func ids(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return out
}

func testDelivers(t *testing.T, h *harness) {
	h.open()
	if c, ok := h.sink.(sinks.Checker); ok {
		if err := c.Check(t.Context()); err != nil {
			t.Errorf("Check on a working destination: %v", err)
		}
	}
	h.deliverAll(h.changes(contact.Created, ids(1, 30)...))
	h.expect()
	batch := slices.Concat(
		h.changes(contact.Updated, ids(1, 10)...),
		h.changes(contact.Deleted, ids(11, 20)...),
		h.changes(contact.Created, ids(31, 35)...),
	)
	h.deliverAll(batch)
	h.expect()
}

// A crash after delivery and before the acknowledgement delivers the
// same changes again, to a sink opened anew.
func testTwice(t *testing.T, h *harness) {
	h.open()
	h.deliverAll(h.changes(contact.Created, ids(1, 20)...))
	batch := slices.Concat(h.changes(contact.Updated, ids(1, 5)...), h.changes(contact.Deleted, ids(6, 10)...))
	h.deliverAll(batch)
	h.expect()
	h.open()
	h.deliverAll(batch)
	h.expect()
}

// The engine hands a contact's changes over one batch after another;
// each batch also holds changes of other contacts.
func testOrder(t *testing.T, h *harness) {
	h.open()
	steps := []contact.Kind{contact.Created, contact.Updated, contact.Updated, contact.Deleted, contact.Created}
	for round, kind := range steps {
		others := ids(100+10*round, 109+10*round)
		h.deliverAll(append([]contact.Change{h.change(kind, "1")}, h.changes(contact.Created, others...)...))
		h.expect()
	}
}

func testUnavailable(t *testing.T, h *harness) {
	h.open()
	h.deliverAll(h.changes(contact.Created, ids(1, 5)...))
	h.dest.Break()
	batch := slices.Concat(h.changes(contact.Updated, ids(1, 5)...), h.changes(contact.Created, ids(6, 40)...))
	for i, err := range h.deliver(t.Context(), batch) {
		if !errors.Is(err, sinks.ErrUnavailable) {
			t.Errorf("change %d: %v, want an error wrapping ErrUnavailable", i, err)
		}
	}
	if c, ok := h.sink.(sinks.Checker); ok {
		if err := c.Check(t.Context()); err == nil {
			t.Error("Check on a failed destination: no error")
		}
	}
}

func testCancelled(t *testing.T, h *harness) {
	h.open()
	h.deliverAll(h.changes(contact.Created, ids(1, 10)...))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	batch := slices.Concat(h.changes(contact.Updated, ids(1, 5)...), h.changes(contact.Created, ids(11, 15)...))
	for i, err := range h.deliver(ctx, batch) {
		if err == nil {
			t.Errorf("change %d acknowledged in a cancelled run", i)
		}
	}
	h.expect()
}

func testPanic(t *testing.T, h *harness) {
	if h.dest.Panic == nil {
		t.Skip("the sink type has no place to make it panic")
	}
	h.open()
	h.dest.Panic("5")
	batch := h.changes(contact.Created, ids(1, 12)...)
	errs := h.deliver(t.Context(), batch)
	for i, err := range errs {
		if (err != nil) != (i == 4) {
			t.Errorf("change %d (contact %s): %v", i, batch[i].Contact.ID, err)
		}
	}
	h.apply(slices.Delete(batch, 4, 5))
	h.expect()
	if !strings.Contains(h.logs.String(), "panic") {
		t.Errorf("the panic is not logged: %s", h.logs.String())
	}
}

// testAudit: an untouched destination has no drift, with or without its
// seal; one touched behind the sink's back (a copy lost, one edited, one
// of a contact the source no longer has) is found, and the changes that
// repair it make it equal the source again, leaving alone what the sink
// did not write.
func testAudit(t *testing.T, h *harness) {
	h.open()
	a, ok := h.sink.(sinks.Auditor)
	if !ok {
		t.Skip("the sink type does not read its destination back")
	}
	h.deliverAll(h.changes(contact.Created, ids(1, 10)...))
	h.deliverAll(h.changes(contact.Created, "77"))
	delete(h.model, "77") // the source no longer has it: a copy left over
	seal, err := a.Seal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h.dest.Lose("1")
	h.dest.Edit("2")
	if h.dest.Foreign != nil {
		h.dest.Foreign()
	}
	drift, err := a.Audit(t.Context(), h.want(), seal, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(drift.Missing, []string{"1"}) || !slices.Equal(drift.Modified, []string{"2"}) || !slices.Equal(drift.Extra, []string{"77"}) {
		t.Fatalf("drift %+v, want 1 missing, 2 modified, 77 left over", drift)
	}
	h.deliverAll([]contact.Change{h.again(contact.Created, "1"), h.again(contact.Updated, "2"), h.change(contact.Deleted, "77")})
	h.expectHolds()
	if seal, err = a.Seal(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, full := range []bool{false, true} {
		if drift, err := a.Audit(t.Context(), h.want(), seal, full); err != nil || drift.Len() != 0 {
			t.Errorf("after the repair (full %v): drift %+v, %v", full, drift, err)
		}
	}
}

// again is a change that sends the contact's current version again.
func (h *harness) again(kind contact.Kind, id string) contact.Change {
	c := h.contact(id, h.version[id])
	return contact.Change{ID: fmt.Sprintf("msg_repair_%s", id), Kind: kind, DetectedAt: time.Now(), Contact: c}
}

// expectHolds checks the model's contacts are in the destination, each
// in its last version, beside whatever it holds that the sink did not
// write.
func (h *harness) expectHolds() {
	h.t.Helper()
	got := h.dest.Contents()
	for id, email := range h.model {
		n := 0
		for _, entry := range got {
			if strings.Contains(entry, email) {
				n++
			}
		}
		if n != 1 {
			h.t.Errorf("contact %s (%s) is in the destination %d times, want once", id, email, n)
		}
	}
	for _, entry := range got {
		if strings.Contains(entry, "c77-") {
			h.t.Errorf("the copy left over is still there: %s", entry)
		}
	}
}

// want is the sinks.Want of the model: nothing queued.
func (h *harness) want() sinks.Want { return modelWant{h} }

type modelWant struct{ h *harness }

func (w modelWant) IDs(context.Context) ([]string, error) {
	return slices.Sorted(maps.Keys(w.h.model)), nil
}

func (w modelWant) Queued(context.Context, string) (bool, error) { return false, nil }

func (w modelWant) Contacts(_ context.Context, ids []string) ([]contact.Contact, error) {
	var list []contact.Contact
	for _, id := range ids {
		list = append(list, w.h.contact(id, w.h.version[id]))
	}
	return list, nil
}

// Memo is a sinks.Memo in memory, for the tests of sinks that keep one.
type Memo struct {
	mu     sync.Mutex
	values map[string][]byte
}

// NewMemo returns an empty Memo.
func NewMemo() *Memo { return &Memo{values: map[string][]byte{}} }

// Get returns the contact's value, nil when there is none.
func (m *Memo) Get(_ context.Context, id string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.values[id], nil
}

// Put sets the contact's value.
func (m *Memo) Put(_ context.Context, id string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[id] = slices.Clone(value)
	return nil
}

// Delete forgets the contact's value.
func (m *Memo) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.values, id)
	return nil
}

// Len counts the contacts with a value.
func (m *Memo) Len(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.values), nil
}

var _ sinks.Memo = (*Memo)(nil)

// syncBuffer is a log that workers write at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
