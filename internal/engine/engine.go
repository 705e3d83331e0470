// Package engine runs one sync: fetch every contact, diff against the
// checkpoint, queue the changes for every sink in the same transaction as
// the new checkpoint, deliver each sink's queue, and remove what the sink
// acknowledged. This file holds the whole flow; detect.go and deliver.go
// hold its two halves.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/crashpoint"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Source is where contacts come from: the Connect API. Contacts calls each
// with every contact's bytes, valid only until each returns.
type Source interface {
	Contacts(ctx context.Context, query string, each func(raw json.RawMessage) error) error
	LeadStatuses(ctx context.Context) ([]contact.LeadStatus, error)
}

// Sink is an opened sink with the identity the state file tracks it by.
type Sink struct {
	Name   string
	Type   string
	Target string // the destination (path, URL); a new target starts over
	Format string // what is written there (sinks.Formatter); a new format starts over too
	// OnDrift is what an Auditor's drifted destination gets:
	// sinks.OnDriftRepair (also when empty) or sinks.OnDriftReport.
	OnDrift string
	Sink    sinks.Sink

	// FormerTarget is how an older state recorded this same destination
	// (sinks.FormerTarget); it is rewritten to Target without starting over.
	FormerTarget string
}

// Engine runs syncs from one source to a set of sinks.
type Engine struct {
	Source Source
	Store  state.Store
	Sinks  []Sink
	Logger *slog.Logger
	// Progress, if set, is told how far a run got (for a terminal): the
	// count of contacts fetched, then of changes delivered.
	Progress func(stage Stage, count int)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// SpoolDir is where a run keeps the contacts it fetched until it
	// commits them (an unlinked temporary file): a folder only this run
	// uses meanwhile, since it removes spool files a crash left there.
	// Empty means os.TempDir(), which is not swept.
	SpoolDir string
}

// Options are the settings of one run.
type Options struct {
	Query             string
	MaxDeleteFraction float64
	AllowMassDelete   bool
	// Only, when set, limits delivery to the sink of that name; the others
	// still get the run's changes queued.
	Only string
	// Stop, when closed, asks the run to end early and cleanly, as for a
	// service shutdown: a fetch in progress is abandoned (nothing was
	// written yet), and delivery ends after the batch in flight, whose
	// acknowledgements are recorded. What is left stays queued. Cancelling
	// the context instead ends the run at once.
	Stop <-chan struct{}
}

// Stage is a step of a run that Progress counts.
type Stage string

// The stages Progress reports.
const (
	StageFetched   Stage = "fetched"
	StageDelivered Stage = "delivered"
)

// Report says what a run did.
type Report struct {
	Created, Updated, Deleted int
	// Skipped counts the contacts the source could not take, which the
	// run left as they were.
	Skipped int
	Sinks   []SinkReport
}

// SinkReport is one sink's part of a run.
type SinkReport struct {
	Name      string
	Delivered int
	Failed    int // changes the sink returned an error for
	Pending   int
	Err       error // why the sink stopped early, if it did
	Failures  []state.Failure
	Buried    int         // changes moved to the dead letters this run
	Drift     sinks.Drift // how its destination had drifted from the source
}

// ErrPending means a run finished but some sink still has changes it did
// not acknowledge.
var ErrPending = errors.New("some changes are still pending")

// ErrBuried means a sink refused changes for good in this run: they are
// in its dead letters, for `connect-sync redeliver`.
var ErrBuried = errors.New("changes moved to the dead letters")

// ErrStopped means the run ended early because Options.Stop was closed.
var ErrStopped = errors.New("the run was stopped before it finished")

// Run performs one sync. It returns ErrPending when a sink kept changes
// queued, a *contact.SkippedError when the source skipped contacts (once
// the others are synced), a *MassDeleteError when the delete guard
// stopped it, or the error that made the run fail; the run is recorded
// in the state either way, if the store still takes writes: the record is
// kept after ctx is cancelled too (see afterwards), but a store bound to a
// lease that has ended refuses it at once, and Run returns that refusal
// with the run's error.
func (e *Engine) Run(ctx context.Context, opts Options) (Report, error) {
	started := e.now()
	report, err := e.run(ctx, opts)
	run := state.Run{StartedAt: started, FinishedAt: e.now(), Result: state.RunSucceeded}
	switch {
	case errors.Is(err, ErrStopped):
		run.Result, run.Error = state.RunStopped, err.Error()
	case err != nil:
		run.Result, run.Error = state.RunFailed, err.Error()
	}
	if rerr := e.Store.RecordRun(afterwards(ctx), run); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return report, err
}

func (e *Engine) run(ctx context.Context, opts Options) (Report, error) {
	var report Report
	plan, err := e.detectUnlessStopped(ctx, opts)
	if err != nil {
		return report, err
	}
	defer plan.Close()
	if !opts.AllowMassDelete {
		if err := plan.CheckDeletes(opts.MaxDeleteFraction); err != nil {
			return report, err
		}
	}
	// Sinks are registered (and back-filled from the snapshots) only now,
	// so that a failed fetch or a refused run changes nothing, and before
	// the commit, so that a new sink gets this run's changes after its
	// back-fill.
	if err := ctx.Err(); err != nil {
		return report, err
	}
	backfilled, err := e.registerSinks(ctx, opts.Only)
	if err != nil {
		return report, err
	}
	report.Created, report.Updated, report.Deleted = plan.Created, plan.Updated, plan.Deleted
	report.Skipped = len(plan.Skipped)
	var errs []error
	if len(plan.Skipped) > 0 {
		// The run goes on for the others, and fails in the end: a contact
		// that does not reach the sinks must not go unnoticed.
		errs = append(errs, &contact.SkippedError{Contacts: plan.Skipped})
	}
	// A cancelled run stops between batches (a first sync commits a
	// hundred of them): its context may be a lease's, and once the lease
	// has ended another instance may be writing the state. What was not
	// committed is detected again by the next run, as after a crash.
	for batch, err := range plan.Batches(ctx) {
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			err = e.Store.Commit(ctx, batch)
		}
		if err != nil {
			return report, err
		}
	}
	for batch := range slices.Chunk(plan.Refreshed(), commitBatch) {
		if err := ctx.Err(); err != nil {
			return report, err
		}
		if err := e.Store.Touch(ctx, batch); err != nil {
			return report, err
		}
	}
	// Delivery reads the queues: what detection held would only add to the
	// run's peak memory while the sinks hold theirs.
	plan.Close()
	crashpoint.Hit("after-queue")
	report.Sinks = e.deliverAll(ctx, opts, backfilled)
	for _, s := range report.Sinks {
		switch {
		case s.Pending == 0 && errors.Is(s.Err, ErrDrift):
			errs = append(errs, fmt.Errorf("sink %s: %w", s.Name, s.Err))
		case s.Pending > 0 || s.Err != nil:
			errs = append(errs, fmt.Errorf("sink %s: %d pending: %w", s.Name, s.Pending, errors.Join(ErrPending, s.Err)))
		}
		if s.Buried > 0 {
			errs = append(errs, fmt.Errorf("sink %s: %d changes refused for good, now dead letters: %w", s.Name, s.Buried, ErrBuried))
		}
	}
	return report, errors.Join(errs...)
}

// detectUnlessStopped is Detect, abandoned when opts.Stop closes.
func (e *Engine) detectUnlessStopped(ctx context.Context, opts Options) (*Plan, error) {
	detectCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-opts.Stop:
			cancel()
		case <-detectCtx.Done():
		}
	}()
	plan, err := e.Detect(detectCtx, opts.Query, e.Store)
	if errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return nil, ErrStopped
	}
	return plan, err
}

// commitBatch bounds the contacts committed per transaction: each contact's
// checkpoint and queued change commit together, which is all that crash
// safety needs, and bounded transactions keep bbolt's dirty pages small.
const commitBatch = 1000

// registerSinks starts tracking configured sinks the state does not know
// (or whose destination changed), back-filled with every current contact,
// and forgets sinks that left the config. It returns the sinks it
// back-filled, whose destinations are audited whole this run.
func (e *Engine) registerSinks(ctx context.Context, only string) (map[string]bool, error) {
	backfilled := map[string]bool{}
	known, err := e.Store.Sinks(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range e.selected(only) {
		info, ok := known[s.Name]
		if ok && info.Target != s.Target && (sameFile(info.Target, s.Target) || info.Target == s.FormerTarget && s.FormerTarget != "") {
			// Recorded in an older form (before targets were absolute
			// paths, or hashed URLs): the same destination.
			info.Target = s.Target
			if err := e.Store.UpdateSink(ctx, s.Name, func(i *state.SinkInfo) { i.Target = s.Target }); err != nil {
				return nil, err
			}
		}
		same := ok && info.Type == s.Type && info.Target == s.Target && !info.Backfilling
		switch {
		case same && info.Format == s.Format:
			continue
		case same && info.Format == "":
			// A state file from before formats were recorded: take the
			// format as it is rather than re-send everything.
			if err := e.Store.UpdateSink(ctx, s.Name, func(i *state.SinkInfo) { i.Format = s.Format }); err != nil {
				return nil, err
			}
			continue
		case same:
			// Same destination, new format: every contact is sent again
			// after what is queued, deletions included, which must still
			// reach the destination.
			e.Logger.Warn("sink format changed: re-sending every current contact", "sink", s.Name, "format", s.Format)
			err = e.Store.UpdateSink(ctx, s.Name, func(i *state.SinkInfo) { i.Format, i.Backfilling = s.Format, true })
		default:
			if ok && !info.Backfilling {
				e.Logger.Warn("sink destination changed: starting it over with every current contact", "sink", s.Name, "target", s.Target)
			}
			err = e.Store.RegisterSink(ctx, s.Name, state.SinkInfo{Type: s.Type, Target: s.Target, Format: s.Format, Backfilling: true})
		}
		if err != nil {
			return nil, err
		}
		n, err := e.Store.Backfill(ctx, s.Name, e.now(), newChangeID)
		if err != nil {
			return nil, fmt.Errorf("back-fill sink %s: %w", s.Name, err)
		}
		backfilled[s.Name] = true
		if n > 0 {
			e.Logger.Info("back-filling sink", "sink", s.Name, "contacts", n)
		}
	}
	for name := range known {
		configured := slices.ContainsFunc(e.Sinks, func(s Sink) bool { return s.Name == name })
		if !configured {
			e.Logger.Warn("sink no longer in the config: dropping its queue", "sink", name)
			if err := e.Store.DropSink(ctx, name); err != nil {
				return nil, err
			}
		}
	}
	return backfilled, nil
}

// sameFile reports whether a recorded relative path names the file an
// absolute target names, from this working directory.
func sameFile(recorded, target string) bool {
	if recorded == "" || filepath.IsAbs(recorded) || !filepath.IsAbs(target) {
		return false
	}
	abs, err := filepath.Abs(recorded)
	return err == nil && abs == target
}

// afterwards is the context of what a run records of itself once it is
// over (its record, a sink's outcome and what it left queued): the run's
// own, so that what recording sets off (a compaction of the state) ends
// with the run, or, once that has ended, one that does not end, since a
// run cancelled at once must be recorded too, for status. A store bound to
// a lease refuses it all the same once the lease has ended.
func afterwards(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) progress(stage Stage, count int) {
	if e.Progress != nil {
		e.Progress(stage, count)
	}
}

// selected returns the sinks a run delivers to.
func (e *Engine) selected(only string) []Sink {
	if only == "" {
		return e.Sinks
	}
	return slices.DeleteFunc(slices.Clone(e.Sinks), func(s Sink) bool { return s.Name != only })
}

func newChangeID() string { return "msg_" + uuid.NewString() }
