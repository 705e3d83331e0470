package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/boltstate"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"
)

// fakeSource serves a mutable list of contacts.
type fakeSource struct {
	mu       sync.Mutex
	contacts map[int]map[string]any
	err      error
}

func newFakeSource(n int) *fakeSource {
	s := &fakeSource{contacts: map[int]map[string]any{}}
	for i := 1; i <= n; i++ {
		s.contacts[i] = map[string]any{
			"id": i, "email": fmt.Sprintf("c%d@example.com", i), "firstName": fmt.Sprintf("C%d", i),
			"lastActivityAt": "2024-01-01T00:00:00Z", "leadStatus": map[string]any{"id": 1, "label": "New Lead"},
		}
	}
	return s
}

func (s *fakeSource) Contacts(_ context.Context, query string, each func(json.RawMessage) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	ids := slices.Sorted(maps.Keys(s.contacts))
	for _, id := range ids {
		c := s.contacts[id]
		if query != "" && !strings.Contains(fmt.Sprint(c["firstName"]), query) {
			continue
		}
		raw, _ := json.Marshal(c)
		if err := each(raw); err != nil {
			return err
		}
		clear(raw) // like the real source, which reuses the buffer
	}
	return nil
}

func (s *fakeSource) LeadStatuses(context.Context) ([]contact.LeadStatus, error) {
	return []contact.LeadStatus{{ID: "1", Type: "lead", Label: "New Lead", Order: 1}}, nil
}

func (s *fakeSource) edit(id int, key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contacts[id][key] = value
}

// recorder is a sink that remembers what it was given and fails on demand.
type recorder struct {
	mu       sync.Mutex
	got      []contact.Change
	down     bool            // every change fails with ErrUnavailable
	refuse   map[string]bool // these contacts fail on their own
	loseAcks bool            // deliver, then report failure (an ack lost in a crash)
	reject   map[string]bool // these contacts are refused for good (ErrPermanent)
	gone     bool            // every change fails with ErrGone
	calls    int
}

func (r *recorder) Deliver(_ context.Context, batch []contact.Change) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	errs := make([]error, len(batch))
	for i, c := range batch {
		switch {
		case r.gone:
			errs[i] = fmt.Errorf("410: %w", sinks.ErrGone)
		case r.reject[c.Contact.ID]:
			errs[i] = fmt.Errorf("422 invalid: %w", sinks.ErrPermanent)
		case r.down:
			errs[i] = fmt.Errorf("receiver: %w", sinks.ErrUnavailable)
		case r.refuse[c.Contact.ID]:
			errs[i] = errors.New("cannot encode")
		case r.loseAcks:
			r.got = append(r.got, c)
			errs[i] = fmt.Errorf("crash: %w", sinks.ErrUnavailable)
		default:
			r.got = append(r.got, c)
		}
	}
	return errs
}

func (r *recorder) take() []contact.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

func summary(changes []contact.Change) []string {
	var out []string
	for _, c := range changes {
		out = append(out, string(c.Kind)+" "+c.Contact.ID)
	}
	return out
}

type harness struct {
	t      testing.TB
	src    *fakeSource
	db     *boltstate.Workspace
	engine *Engine
}

func newHarness(t testing.TB, contacts int, sinkList ...Sink) *harness {
	t.Helper()
	db, err := boltstate.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ws, err := db.Workspace(state.DefaultWorkspace)
	if err != nil {
		t.Fatal(err)
	}
	src := newFakeSource(contacts)
	e := &Engine{Source: src, Store: ws, Sinks: sinkList, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return &harness{t: t, src: src, db: ws, engine: e}
}

func (h *harness) run(opts Options) (Report, error) {
	h.t.Helper()
	if opts.MaxDeleteFraction == 0 {
		opts.MaxDeleteFraction = 0.5
	}
	return h.engine.Run(context.Background(), opts)
}

func (h *harness) mustRun() Report {
	h.t.Helper()
	r, err := h.run(Options{})
	if err != nil {
		h.t.Fatalf("run: %v", err)
	}
	return r
}

func TestRunDetectsCreatesUpdatesDeletes(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, 20, Sink{Name: "r", Type: "test", Sink: rec})

	r := h.mustRun()
	if r.Created != 20 || len(rec.take()) != 20 {
		t.Fatalf("first run: created %d", r.Created)
	}
	if r := h.mustRun(); r.Created+r.Updated+r.Deleted != 0 || len(rec.take()) != 0 {
		t.Fatalf("second run without source changes reported %+v", r)
	}

	h.src.edit(3, "note", "edited without touching lastActivityAt")
	h.src.edit(4, "lastActivityAt", "2024-06-01T00:00:00Z")
	delete(h.src.contacts, 5)
	h.src.contacts[21] = map[string]any{"id": "21", "email": "new@example.com"}
	r = h.mustRun()
	got := rec.take()
	if want := []string{"updated 3", "updated 4", "created 21", "deleted 5"}; !slices.Equal(summary(got), want) {
		t.Fatalf("got %v, want %v", summary(got), want)
	}
	if !slices.Equal(got[0].ChangedFields, []string{"note"}) || !slices.Equal(got[1].ChangedFields, []string{"lastActivityAt"}) {
		t.Errorf("changed fields: %v, %v", got[0].ChangedFields, got[1].ChangedFields)
	}
	if got[0].Previous == nil || got[0].Previous.Note != "" || got[0].Contact.Note == "" {
		t.Errorf("update of 3 lacks its previous snapshot: %+v", got[0])
	}
	if got[3].Contact.Email != "c5@example.com" {
		t.Errorf("deletion carries %+v, want the last snapshot", got[3].Contact)
	}
	if ls := got[0].Contact.LeadStatus; ls == nil || ls.Type != "lead" || ls.Order != 1 {
		t.Errorf("lead status not enriched: %+v", ls)
	}
	ids := map[string]bool{}
	for _, c := range got {
		if ids[c.ID] || c.ID == "" {
			t.Errorf("change id %q not unique", c.ID)
		}
		ids[c.ID] = true
	}
}

func TestDeleteGuard(t *testing.T) {
	tests := []struct {
		name    string
		remove  int
		allow   bool
		wantErr bool
	}{
		{"few deletions pass", 9, false, false},
		{"under the fraction passes", 15, false, false},
		{"over the fraction stops", 25, false, true},
		{"everything stops", 40, false, true},
		{"override", 40, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			h := newHarness(t, 40, Sink{Name: "r", Type: "test", Sink: rec})
			h.mustRun()
			rec.take()
			for id := 1; id <= tt.remove; id++ {
				delete(h.src.contacts, id)
			}
			_, err := h.run(Options{AllowMassDelete: tt.allow})
			var mde *MassDeleteError
			if got := errors.As(err, &mde); got != tt.wantErr {
				t.Fatalf("err = %v, want mass-delete error: %v", err, tt.wantErr)
			}
			cp, _ := h.db.Checkpoint(t.Context())
			wantTracked := 40 - tt.remove
			if tt.wantErr {
				wantTracked = 40
				if len(rec.take()) != 0 {
					t.Error("a refused run delivered changes")
				}
			}
			if len(cp) != wantTracked {
				t.Errorf("tracked %d, want %d", len(cp), wantTracked)
			}
		})
	}
}

func TestFailedFetchChangesNothing(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, 5, Sink{Name: "r", Type: "test", Sink: rec})
	h.mustRun()
	rec.take()
	h.src.err = errors.New("unexpected EOF")
	if _, err := h.run(Options{}); err == nil {
		t.Fatal("run succeeded on a failed fetch")
	}
	if cp, _ := h.db.Checkpoint(t.Context()); len(cp) != 5 || len(rec.take()) != 0 {
		t.Fatal("a failed fetch changed the checkpoint or delivered")
	}
	st, _ := h.db.Status(t.Context())
	if st.LastRun == nil || st.LastRun.Result != "failure" || !strings.Contains(st.LastRun.Error, "unexpected EOF") {
		t.Errorf("last run = %+v", st.LastRun)
	}
}

func TestDownSinkKeepsChangesInOrderWhileOthersGoOn(t *testing.T) {
	up, down := &recorder{}, &recorder{down: true}
	h := newHarness(t, 3, Sink{Name: "up", Type: "test", Sink: up}, Sink{Name: "down", Type: "test", Sink: down})
	if _, err := h.run(Options{}); !errors.Is(err, ErrPending) {
		t.Fatalf("err = %v, want ErrPending", err)
	}
	h.src.edit(2, "note", "first edit")
	h.run(Options{})
	h.src.edit(2, "note", "second edit")
	h.run(Options{})
	if got := summary(up.take()); len(got) != 5 {
		t.Fatalf("the healthy sink got %v", got)
	}
	down.down = false
	h.mustRun()
	got := down.take()
	if want := []string{"created 1", "created 2", "created 3", "updated 2", "updated 2"}; !slices.Equal(summary(got), want) {
		t.Fatalf("after recovery: %v, want %v", summary(got), want)
	}
	if got[3].Contact.Note != "first edit" || got[4].Contact.Note != "second edit" {
		t.Error("the two edits were merged or reordered")
	}
	if n, _ := h.db.Pending(t.Context(), "down"); n != 0 {
		t.Errorf("pending %d", n)
	}
}

func TestRefusedContactWaitsAndOthersGoOn(t *testing.T) {
	rec := &recorder{refuse: map[string]bool{"2": true}}
	h := newHarness(t, 3, Sink{Name: "r", Type: "test", Sink: rec})
	report, err := h.run(Options{})
	if !errors.Is(err, ErrPending) {
		t.Fatalf("err = %v", err)
	}
	if got := summary(rec.take()); !slices.Equal(got, []string{"created 1", "created 3"}) {
		t.Fatalf("got %v", got)
	}
	if f := report.Sinks[0].Failures; len(f) != 1 || f[0].Contact != "2" {
		t.Errorf("failures %+v", f)
	}
	h.src.edit(2, "note", "edit while refused")
	h.run(Options{})
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("contact 2's later change overtook the refused one: %v", summary(got))
	}
	st, _ := h.db.Status(t.Context())
	if st.Sinks[0].Pending != 2 || len(st.Sinks[0].Failures) != 1 || st.Sinks[0].LastError == "" {
		t.Errorf("status %+v", st.Sinks[0])
	}
	rec.refuse = nil
	h.mustRun()
	if got := summary(rec.take()); !slices.Equal(got, []string{"created 2", "updated 2"}) {
		t.Fatalf("got %v", got)
	}
}

func TestLostAcknowledgementIsRedelivered(t *testing.T) {
	rec := &recorder{loseAcks: true}
	h := newHarness(t, 2, Sink{Name: "r", Type: "test", Sink: rec})
	h.run(Options{})
	first := rec.take()
	rec.loseAcks = false
	h.mustRun()
	again := rec.take()
	if !slices.Equal(summary(first), summary(again)) || first[0].ID != again[0].ID {
		t.Fatalf("redelivery %v (ids %s, %s) differs from %v", summary(again), again[0].ID, first[0].ID, summary(first))
	}
}

func TestNewSinkIsBackfilled(t *testing.T) {
	old := &recorder{}
	h := newHarness(t, 4, Sink{Name: "old", Type: "test", Sink: old})
	h.mustRun()
	delete(h.src.contacts, 4)
	h.mustRun()
	added := &recorder{}
	h.engine.Sinks = append(h.engine.Sinks, Sink{Name: "new", Type: "test", Sink: added})
	h.src.edit(1, "note", "edit in the same run")
	h.mustRun()
	if got := summary(added.take()); !slices.Equal(got, []string{"created 1", "created 2", "created 3", "updated 1"}) {
		t.Fatalf("new sink got %v", got)
	}
	if got := summary(old.take()); !slices.Equal(got, []string{"created 1", "created 2", "created 3", "created 4", "deleted 4", "updated 1"}) {
		t.Fatalf("old sink got %v", got)
	}
}

func TestOnlyDeliversToOneSinkAndQueuesForTheOthers(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	h := newHarness(t, 2, Sink{Name: "a", Type: "test", Sink: a}, Sink{Name: "b", Type: "test", Sink: b})
	h.mustRun()
	a.take()
	b.take()
	h.src.edit(1, "note", "x")
	report, err := h.run(Options{Only: "a"})
	if err != nil || len(report.Sinks) != 1 {
		t.Fatalf("report %+v, err %v", report, err)
	}
	if len(a.take()) != 1 || len(b.take()) != 0 {
		t.Fatal("--sink delivered to the wrong sinks")
	}
	if n, _ := h.db.Pending(t.Context(), "b"); n != 1 {
		t.Errorf("b pending %d, want 1", n)
	}
}

func TestRemovedSinkIsDropped(t *testing.T) {
	a, b := &recorder{}, &recorder{down: true}
	h := newHarness(t, 2, Sink{Name: "a", Type: "test", Sink: a}, Sink{Name: "b", Type: "test", Sink: b})
	h.run(Options{})
	h.engine.Sinks = h.engine.Sinks[:1]
	h.mustRun()
	if st, _ := h.db.Status(t.Context()); len(st.Sinks) != 1 {
		t.Fatalf("sinks %+v", st.Sinks)
	}
}

// staging is a Committer that only makes changes visible on Commit.
type staging struct {
	recorder
	staged    []contact.Change
	commitErr error
}

func (s *staging) Deliver(_ context.Context, batch []contact.Change) []error {
	s.staged = append(s.staged, batch...)
	return make([]error, len(batch))
}

func (s *staging) Commit(context.Context) error {
	if s.commitErr != nil {
		s.staged = nil
		return s.commitErr
	}
	s.got = append(s.got, s.staged...)
	s.staged = nil
	return nil
}

func TestCommitterAcknowledgesOnlyAfterCommit(t *testing.T) {
	s := &staging{commitErr: errors.New("disk full")}
	h := newHarness(t, 3, Sink{Name: "s", Type: "test", Sink: s})
	if _, err := h.run(Options{}); !errors.Is(err, ErrPending) {
		t.Fatalf("err = %v", err)
	}
	if n, _ := h.db.Pending(t.Context(), "s"); n != 3 {
		t.Fatalf("pending %d after a failed commit, want 3", n)
	}
	s.commitErr = nil
	h.mustRun()
	if got := summary(s.take()); len(got) != 3 {
		t.Fatalf("got %v", got)
	}
}

func TestQueryNarrowsTheSync(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, 12, Sink{Name: "r", Type: "test", Sink: rec})
	if _, err := h.run(Options{Query: "C1"}); err != nil {
		t.Fatal(err)
	}
	if got := summary(rec.take()); len(got) != 4 { // C1, C10, C11, C12
		t.Fatalf("got %v", got)
	}
	h.src.edit(10, "firstName", "Renamed")
	h.run(Options{Query: "C1"})
	if got := summary(rec.take()); !slices.Equal(got, []string{"deleted 10"}) {
		t.Fatalf("a contact leaving the filter: %v", got)
	}
}

func TestProgressAndClock(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, 3, Sink{Name: "r", Type: "test", Sink: rec})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h.engine.Now = func() time.Time { return at }
	last := map[Stage]int{}
	h.engine.Progress = func(s Stage, n int) { last[s] = n }
	h.mustRun()
	if last[StageFetched] != 3 || last[StageDelivered] != 3 {
		t.Errorf("progress %v", last)
	}
	if got := rec.take(); !got[0].DetectedAt.Equal(at) {
		t.Errorf("detected at %v", got[0].DetectedAt)
	}
}

func TestInterruptedBackfillStartsOver(t *testing.T) {
	h := newHarness(t, 5, Sink{Name: "a", Type: "test", Sink: &recorder{}})
	h.mustRun()
	// As if the process died right after registering b, before its back-fill.
	h.db.RegisterSink(t.Context(), "b", state.SinkInfo{Type: "test", Backfilling: true})
	b := &recorder{}
	h.engine.Sinks = append(h.engine.Sinks, Sink{Name: "b", Type: "test", Sink: b})
	h.mustRun()
	if got := summary(b.take()); len(got) != 5 {
		t.Fatalf("b got %v, want every contact", got)
	}
	h.mustRun()
	if got := b.take(); len(got) != 0 {
		t.Fatalf("a finished back-fill ran again: %v", summary(got))
	}
}

// stopper closes stop when the sink is first handed a batch, as a
// shutdown signal arriving mid-delivery would.
type stopper struct {
	sinks.Sink
	stop chan struct{}
	once sync.Once
}

func (s *stopper) Deliver(ctx context.Context, batch []contact.Change) []error {
	s.once.Do(func() { close(s.stop) })
	return s.Sink.Deliver(ctx, batch)
}

// stoppingCommitter is a stopper over a Committer.
type stoppingCommitter struct {
	stopper
	committer sinks.Committer
}

func (s *stoppingCommitter) Commit(ctx context.Context) error { return s.committer.Commit(ctx) }

func TestStopEndsDeliveryAfterTheBatchInFlight(t *testing.T) {
	const contacts = deliverBatch + 200
	tests := []struct {
		name string
		sink func(stop chan struct{}) (sinks.Sink, func() []contact.Change)
	}{
		{"sink", func(stop chan struct{}) (sinks.Sink, func() []contact.Change) {
			rec := &recorder{}
			return &stopper{Sink: rec, stop: stop}, rec.take
		}},
		{"committer", func(stop chan struct{}) (sinks.Sink, func() []contact.Change) {
			s := &staging{}
			return &stoppingCommitter{stopper: stopper{Sink: s, stop: stop}, committer: s}, s.take
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stop := make(chan struct{})
			sink, take := tt.sink(stop)
			h := newHarness(t, contacts, Sink{Name: "s", Type: "test", Sink: sink})
			report, err := h.run(Options{Stop: stop})
			if !errors.Is(err, ErrStopped) || !errors.Is(err, ErrPending) {
				t.Fatalf("err = %v, want ErrStopped and ErrPending", err)
			}
			if got := len(take()); got != deliverBatch || report.Sinks[0].Delivered != deliverBatch {
				t.Fatalf("delivered %d (reported %d), want the batch in flight: %d", got, report.Sinks[0].Delivered, deliverBatch)
			}
			if n, _ := h.db.Pending(t.Context(), "s"); n != contacts-deliverBatch {
				t.Fatalf("pending %d, want %d", n, contacts-deliverBatch)
			}
			// The next run delivers the rest, once.
			h.run(Options{})
			if got := len(take()); got != contacts-deliverBatch {
				t.Errorf("next run delivered %d, want %d", got, contacts-deliverBatch)
			}
		})
	}
}

// blockingSource hangs in the fetch until its context ends.
type blockingSource struct {
	fakeSource
	fetching chan struct{}
}

func (s *blockingSource) Contacts(ctx context.Context, _ string, _ func(json.RawMessage) error) error {
	close(s.fetching)
	<-ctx.Done()
	return ctx.Err()
}

func TestStopAbandonsTheFetch(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, 0, Sink{Name: "r", Type: "test", Sink: rec})
	src := &blockingSource{fetching: make(chan struct{})}
	h.engine.Source = src
	stop := make(chan struct{})
	go func() {
		<-src.fetching
		close(stop)
	}()
	if _, err := h.run(Options{Stop: stop}); !errors.Is(err, ErrStopped) {
		t.Fatalf("err = %v, want ErrStopped", err)
	}
	if sinks, _ := h.db.Sinks(t.Context()); len(sinks) != 0 {
		t.Errorf("a stopped fetch registered sinks: %v", sinks)
	}
}

func TestRefusedForGoodIsBuriedAndTheContactGoesOn(t *testing.T) {
	rec := &recorder{reject: map[string]bool{"2": true}}
	h := newHarness(t, 3, Sink{Name: "r", Type: "test", Sink: rec})
	if _, err := h.run(Options{}); !errors.Is(err, ErrBuried) {
		t.Fatalf("err = %v, want ErrBuried", err)
	}
	if got := summary(rec.take()); fmt.Sprint(got) != "[created 1 created 3]" {
		t.Fatalf("delivered %v", got)
	}
	st, _ := h.db.Status(t.Context())
	if s := st.Sinks[0]; s.Pending != 0 || s.DeadLetters != 1 || s.DeadLetterList[0].Contact != "2" {
		t.Fatalf("status %+v", s)
	}
	// A dead letter does not hold back the contact's next change.
	rec.reject = nil
	h.src.edit(2, "note", "fixed")
	h.mustRun()
	if got := summary(rec.take()); fmt.Sprint(got) != "[updated 2]" {
		t.Fatalf("after the edit, delivered %v", got)
	}
	if n, err := h.db.Redeliver(t.Context(), "r", ""); err != nil || n != 1 {
		t.Fatalf("redeliver: %d %v", n, err)
	}
	h.mustRun()
	if got := summary(rec.take()); fmt.Sprint(got) != "[created 2]" {
		t.Errorf("after redeliver, delivered %v", got)
	}
}

func TestGoneDisablesTheSinkUntilRedeliver(t *testing.T) {
	rec, other := &recorder{gone: true}, &recorder{}
	h := newHarness(t, 2, Sink{Name: "r", Type: "test", Sink: rec}, Sink{Name: "other", Type: "test", Sink: other})
	if _, err := h.run(Options{}); !errors.Is(err, sinks.ErrGone) {
		t.Fatalf("err = %v, want ErrGone", err)
	}
	rec.gone = false
	h.src.edit(1, "note", "edited")
	calls := rec.calls
	if _, err := h.run(Options{}); err == nil || !strings.Contains(err.Error(), "redeliver --sink r --all") {
		t.Fatalf("err = %v, want the disabled sink named with the way out", err)
	}
	if rec.calls != calls {
		t.Fatal("a disabled sink was sent changes")
	}
	if got := summary(other.take()); len(got) != 3 {
		t.Errorf("the other sink got %v, want 2 creations and the update", got)
	}
	if _, err := h.db.Redeliver(t.Context(), "r", ""); err != nil {
		t.Fatal(err)
	}
	h.mustRun()
	if got := summary(rec.take()); fmt.Sprint(got) != "[created 1 created 2 updated 1]" {
		t.Errorf("after redeliver, delivered %v", got)
	}
}

func TestNewFormatResendsEveryContact(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, 3, Sink{Name: "cards", Type: "test", Target: "/srv/cards", Format: "vcard 3.0", Sink: rec})
	h.mustRun()
	rec.take()

	// A deletion queued while the sink is down still goes out after the
	// format changes.
	rec.down = true
	delete(h.src.contacts, 3)
	h.run(Options{})
	rec.down = false
	h.engine.Sinks[0].Format = "vcard 4.0"
	h.mustRun()
	if got := summary(rec.take()); fmt.Sprint(got) != "[deleted 3 created 1 created 2]" {
		t.Fatalf("after the format changed, delivered %v, want the deletion, then every contact", got)
	}
	h.mustRun()
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("an unchanged format re-sent %d changes", len(got))
	}

	// A state file from before formats were recorded takes the format
	// as it is.
	h.db.UpdateSink(t.Context(), "cards", func(info *state.SinkInfo) { info.Format = "" })
	h.mustRun()
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("a state file without a format re-sent %d changes", len(got))
	}
	if sinks, _ := h.db.Sinks(t.Context()); sinks["cards"].Format != "vcard 4.0" {
		t.Errorf("format recorded %q", sinks["cards"].Format)
	}
}

func TestRelativeTargetFromBeforeIsTheSameFile(t *testing.T) {
	rec := &recorder{}
	abs, _ := filepath.Abs("contacts.csv")
	h := newHarness(t, 2, Sink{Name: "csv", Type: "test", Target: "contacts.csv", Sink: rec})
	h.mustRun()
	rec.take()
	h.engine.Sinks[0].Target = abs
	h.mustRun()
	if got := rec.take(); len(got) != 0 {
		t.Errorf("the same file recorded as a relative path was sent %d changes again", len(got))
	}
	if sinks, _ := h.db.Sinks(t.Context()); sinks["csv"].Target != abs {
		t.Errorf("target recorded %q, want %q", sinks["csv"].Target, abs)
	}
}

// A state that recorded a sink's target in its former form (a webhook's
// URL with its first path segment, before targets were hashed) keeps the
// sink as it is, with the target in the new form; another target still
// starts it over.
func TestFormerTargetIsTheSameDestination(t *testing.T) {
	const (
		former = "https://hook.eu1.make.com/tokenA"
		target = "https://hook.eu1.make.com/… sha256:0a1b2c"
	)
	rec := &recorder{}
	h := newHarness(t, 2, Sink{Name: "hook", Type: "test", Target: former, Sink: rec})
	h.mustRun()
	rec.take()
	h.engine.Sinks[0].Target, h.engine.Sinks[0].FormerTarget = target, former
	h.mustRun()
	if got := rec.take(); len(got) != 0 {
		t.Errorf("the same receiver recorded in the former form was sent %d changes again", len(got))
	}
	if sinks, _ := h.db.Sinks(t.Context()); sinks["hook"].Target != target {
		t.Errorf("target recorded %q, want %q", sinks["hook"].Target, target)
	}
	// Another URL (a rotated token) has another hash, whatever its former form.
	h.engine.Sinks[0].Target = "https://hook.eu1.make.com/… sha256:3d4e5f"
	h.mustRun()
	if got := summary(rec.take()); fmt.Sprint(got) != "[created 1 created 2]" {
		t.Errorf("a new target was sent %v, want every contact", got)
	}
}

// cancellingStore cancels the run's context as it commits the batch
// numbered at, and counts commits and recorded runs.
type cancellingStore struct {
	state.Store
	at      int
	cancel  context.CancelFunc
	commits int
	runs    []state.Run
}

func (s *cancellingStore) Commit(ctx context.Context, batch []state.Detected) error {
	if s.commits++; s.commits == s.at {
		s.cancel()
	}
	return s.Store.Commit(ctx, batch)
}

func (s *cancellingStore) RecordRun(ctx context.Context, r state.Run) error {
	s.runs = append(s.runs, r)
	return s.Store.RecordRun(ctx, r)
}

// TestCancelStopsTheCommitBetweenBatches cancels a first sync's context
// while it commits its first batch: it commits no other, delivers
// nothing, records the run as failed, and the next run commits and
// delivers the rest.
func TestCancelStopsTheCommitBetweenBatches(t *testing.T) {
	const contacts = 2*commitBatch + 500
	rec := &recorder{}
	h := newHarness(t, contacts, Sink{Name: "r", Type: "test", Sink: rec})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := &cancellingStore{Store: h.db, at: 1, cancel: cancel}
	h.engine.Store = store
	if _, err := h.engine.Run(ctx, Options{MaxDeleteFraction: 0.5}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if store.commits != 1 {
		t.Errorf("%d batches committed after the cancel's, want none", store.commits-1)
	}
	if cp, _ := h.db.Checkpoint(ctx); len(cp) != commitBatch {
		t.Errorf("%d contacts checkpointed, want the first batch's %d", len(cp), commitBatch)
	}
	if got := rec.take(); len(got) != 0 {
		t.Errorf("a cancelled run delivered %d changes", len(got))
	}
	if len(store.runs) != 1 || store.runs[0].Result != state.RunFailed {
		t.Errorf("runs recorded: %+v, want one failed", store.runs)
	}

	h.engine.Store = h.db
	h.mustRun()
	if cp, _ := h.db.Checkpoint(ctx); len(cp) != contacts {
		t.Errorf("%d contacts checkpointed after the next run, want %d", len(cp), contacts)
	}
	if got := rec.take(); len(got) != contacts {
		t.Errorf("the next run delivered %d changes, want %d", len(got), contacts)
	}
}

// panicky is a sink whose Deliver panics, as a bug in a sink would.
type panicky struct{}

func (panicky) Deliver(context.Context, []contact.Change) []error { panic("index out of range") }

// A sink that panics fails its own delivery, not the process: the other
// sinks deliver, and its changes stay queued for a later run.
func TestASinkThatPanicsFailsAlone(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, 3, Sink{Name: "bad", Type: "test", Sink: panicky{}}, Sink{Name: "r", Type: "test", Sink: rec})
	r, err := h.run(Options{})
	if !errors.Is(err, ErrPending) {
		t.Fatalf("run error %v, want ErrPending", err)
	}
	if got := len(rec.take()); got != 3 {
		t.Errorf("the other sink got %d changes, want 3", got)
	}
	bad := r.Sinks[0]
	if bad.Err == nil || !strings.Contains(bad.Err.Error(), "the sink panicked: index out of range") || bad.Pending != 3 {
		t.Errorf("the panicking sink's report: %+v", bad)
	}
}
