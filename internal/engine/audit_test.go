package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// mirror is a destination the test can tamper with, and a sink that can
// read it back: each contact's email by id. Its seal is a version that a
// hand edit (touch) moves, as a file's size and time would.
type mirror struct {
	mu      sync.Mutex
	held    map[string]string
	version int
	audits  []bool // full, of each audit
}

func newMirror() *mirror { return &mirror{held: map[string]string{}} }

func (m *mirror) Deliver(_ context.Context, batch []contact.Change) []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range batch {
		if c.Kind == contact.Deleted {
			delete(m.held, c.Contact.ID)
		} else {
			m.held[c.Contact.ID] = c.Contact.Email
		}
	}
	m.version++
	return make([]error, len(batch))
}

// touch changes the destination behind the sink's back.
func (m *mirror) touch(edit func(held map[string]string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	edit(m.held)
	m.version++
}

func (m *mirror) snapshot() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.held)
}

func (m *mirror) Seal(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return []byte(strconv.Itoa(m.version)), nil
}

func (m *mirror) Audit(ctx context.Context, want sinks.Want, seal []byte, full bool) (sinks.Drift, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audits = append(m.audits, full)
	var d sinks.Drift
	if !full && string(seal) == strconv.Itoa(m.version) {
		return d, nil
	}
	ids, err := want.IDs(ctx)
	if err != nil {
		return d, err
	}
	contacts, err := want.Contacts(ctx, ids)
	if err != nil {
		return d, err
	}
	for _, c := range contacts {
		switch email, ok := m.held[c.ID]; {
		case !ok:
			d.Missing = append(d.Missing, c.ID)
		case email != c.Email:
			d.Modified = append(d.Modified, c.ID)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(m.held)) {
		queued, err := want.Queued(ctx, id)
		if err != nil {
			return d, err
		}
		if !slices.Contains(ids, id) && !queued {
			d.Extra = append(d.Extra, id)
		}
	}
	return d, nil
}

// source is what the mirror should hold: each source contact's email.
func (h *harness) source() map[string]string {
	out := map[string]string{}
	for id, c := range h.src.contacts {
		out[strconv.Itoa(id)] = fmt.Sprint(c["email"])
	}
	return out
}

func TestDriftIsRepairedByTheNextRun(t *testing.T) {
	m := newMirror()
	h := newHarness(t, 10, Sink{Name: "m", Type: "test", Sink: m})
	var logs bytes.Buffer
	h.engine.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h.mustRun()
	if !maps.Equal(m.snapshot(), h.source()) {
		t.Fatalf("after the first run the destination holds %v", m.snapshot())
	}
	if r := h.mustRun(); r.Sinks[0].Drift.Len() != 0 {
		t.Errorf("an untouched destination drifted: %+v", r.Sinks[0].Drift)
	}

	m.touch(func(held map[string]string) {
		delete(held, "1")
		held["2"] = "edited@example.com"
		held["99"] = "left-over@example.com"
	})
	r := h.mustRun()
	if d := r.Sinks[0].Drift; !slices.Equal(d.Missing, []string{"1"}) || !slices.Equal(d.Modified, []string{"2"}) || !slices.Equal(d.Extra, []string{"99"}) {
		t.Errorf("drift %+v, want 1 missing, 2 modified, 99 extra", d)
	}
	if !maps.Equal(m.snapshot(), h.source()) {
		t.Errorf("after the repair the destination holds %v, want %v", m.snapshot(), h.source())
	}
	for _, want := range []string{"contact=1 drift=missing", "contact=2 drift=modified", "contact=99 drift=extra"} {
		if strings.Count(logs.String(), want) != 1 {
			t.Errorf("the log does not say %q once:\n%s", want, logs.String())
		}
	}
	st, _ := h.db.Status(t.Context())
	if d := st.Sinks[0].LastDrift; d == nil || d.Missing != 1 || d.Modified != 1 || d.Extra != 1 || !d.Repaired {
		t.Errorf("status's last drift %+v", d)
	}
	if r := h.mustRun(); r.Sinks[0].Drift.Len() != 0 {
		t.Errorf("a repaired destination drifted again: %+v", r.Sinks[0].Drift)
	}
}

// on_drift: report leaves the destination as it is, fails the run, and
// reports it again on every run until it is repaired by hand.
func TestDriftReported(t *testing.T) {
	m := newMirror()
	h := newHarness(t, 5, Sink{Name: "m", Type: "test", Sink: m, OnDrift: sinks.OnDriftReport})
	h.mustRun()
	m.touch(func(held map[string]string) { held["3"] = "edited@example.com" })
	for run := range 2 {
		r, err := h.run(Options{})
		if !errors.Is(err, ErrDrift) || !strings.Contains(err.Error(), "sink m: the destination differs from the source: 0 missing, 1 modified") {
			t.Fatalf("run %d: err = %v, want ErrDrift naming the sink", run, err)
		}
		if held := m.snapshot()["3"]; held != "edited@example.com" {
			t.Errorf("run %d: the drift was repaired: %s", run, held)
		}
		if !slices.Equal(r.Sinks[0].Drift.Modified, []string{"3"}) {
			t.Errorf("run %d: drift %+v", run, r.Sinks[0].Drift)
		}
	}
	st, _ := h.db.Status(t.Context())
	if d := st.Sinks[0].LastDrift; d == nil || d.Repaired || d.Modified != 1 {
		t.Errorf("status's last drift %+v, want one modified, not repaired", d)
	}
}

// A back-fill (a new sink, a reset) makes the destination equal the
// source: what the sink left there of contacts deleted meanwhile, while
// the state no longer knew the sink, is removed.
func TestBackfillReconciles(t *testing.T) {
	m := newMirror()
	sink := Sink{Name: "m", Type: "test", Sink: m}
	h := newHarness(t, 5, sink)
	h.mustRun()
	h.engine.Sinks = nil // taken out of the config: its queue is dropped
	delete(h.src.contacts, 4)
	h.mustRun()
	h.engine.Sinks = []Sink{sink} // and put back: back-filled
	h.mustRun()
	if !maps.Equal(m.snapshot(), h.source()) {
		t.Errorf("after the back-fill the destination holds %v, want %v", m.snapshot(), h.source())
	}
	if !slices.Equal(m.audits, []bool{true, true}) {
		t.Errorf("audits (full?) %v, want a full one for each back-fill", m.audits)
	}
}

// A destination that cannot be read stops its sink for the run: its
// changes stay queued.
func TestAuditFailureStopsTheSink(t *testing.T) {
	h := newHarness(t, 3, Sink{Name: "m", Type: "test", Sink: failingAudit{newMirror()}})
	_, err := h.run(Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot read it") {
		t.Fatalf("err = %v, want the audit's", err)
	}
	if n, _ := h.db.Pending(t.Context(), "m"); n != 3 {
		t.Errorf("%d pending, want the 3 changes kept", n)
	}
}

type failingAudit struct{ *mirror }

func (failingAudit) Audit(context.Context, sinks.Want, []byte, bool) (sinks.Drift, error) {
	return sinks.Drift{}, fmt.Errorf("cannot read it: %w", sinks.ErrUnavailable)
}

var _ sinks.Auditor = (*mirror)(nil)
