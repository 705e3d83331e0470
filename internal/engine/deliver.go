package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/crashpoint"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"
)

// deliverBatch bounds the changes handed to a sink at once, and so the
// changes acknowledged per state transaction.
const deliverBatch = 500

// deliverAll drains every selected sink's queue, each in its own goroutine
// so that a slow destination does not hold up the others.
func (e *Engine) deliverAll(ctx context.Context, opts Options, backfilled map[string]bool) []SinkReport {
	selected := e.selected(opts.Only)
	var (
		wg        sync.WaitGroup
		delivered atomic.Int64
		reports   = make([]SinkReport, len(selected))
	)
	known, err := e.Store.Sinks(ctx)
	for i, s := range selected {
		if reason := known[s.Name].Disabled; err != nil || reason != "" {
			reports[i] = e.skip(ctx, s, err, reason)
			continue
		}
		wg.Go(func() {
			d := drain{
				engine: e, sink: s, stop: opts.Stop, blocked: map[string]bool{}, delivered: &delivered,
				seal: known[s.Name].Seal, fullAudit: backfilled[s.Name],
			}
			reports[i] = d.run(ctx)
		})
	}
	wg.Wait()
	return reports
}

// skip reports a sink that gets nothing this run: disabled, or its state
// could not be read.
func (e *Engine) skip(ctx context.Context, s Sink, err error, disabled string) SinkReport {
	if err == nil {
		err = fmt.Errorf("disabled: %s; `connect-sync redeliver --sink %s --all` enables it again", disabled, s.Name)
	}
	pending, perr := e.Store.Pending(afterwards(ctx), s.Name)
	return SinkReport{Name: s.Name, Pending: pending, Err: errors.Join(err, perr)}
}

// drain delivers one sink's queue in order. Changes of a contact whose
// earlier change failed wait, so no contact's changes overtake each other.
type drain struct {
	engine    *Engine
	sink      Sink
	stop      <-chan struct{}
	blocked   map[string]bool // contacts with a failed change this run
	staged    []uint64        // for a Committer: accepted, not yet committed
	failures  []state.Failure
	stopped   error // the destination failed as a whole
	gone      bool  // the destination asked never to be sent to again
	delivered *atomic.Int64
	report    SinkReport
	// seal is what the sink, an Auditor, said of its destination after its
	// last run; fullAudit makes its audit look past it (a back-fill).
	seal      []byte
	fullAudit bool
	drift     *state.Drift // what the audit found, if anything
}

func (d *drain) run(ctx context.Context) SinkReport {
	d.report.Name = d.sink.Name
	auditor, audits := d.sink.Sink.(sinks.Auditor)
	var driftErr error
	if audits {
		driftErr = d.guard(func() error { return d.audit(ctx, auditor, d.seal, d.fullAudit) })
		if driftErr != nil && !errors.Is(driftErr, ErrDrift) {
			d.stopped = driftErr // a destination that cannot be read
		}
	}
	err := d.guard(func() error { return d.deliverQueue(ctx) })
	// A stopped run still commits what the sink accepted.
	if c, ok := d.sink.Sink.(sinks.Committer); ok && (err == nil || errors.Is(err, ErrStopped)) && len(d.staged) > 0 {
		err = errors.Join(d.guard(func() error { return d.commit(ctx, c) }), err)
	}
	if err == nil {
		err = d.stopped
	}
	if errors.Is(driftErr, ErrDrift) {
		err = errors.Join(err, driftErr)
	}
	if audits {
		d.reseal(ctx, auditor)
	}
	d.report.Err = err
	d.report.Failures = d.failures
	pending, perr := d.engine.Store.Pending(afterwards(ctx), d.sink.Name)
	d.report.Pending = pending
	d.record(afterwards(ctx), errors.Join(err, perr))
	return d.report
}

// guard turns a panic of fn (of the sink's code, most likely) into the
// sink's error for this run: the service recovers what panics in a run's
// own goroutine, but not in the one each sink drains in, where a panic
// would end the process and every other run with it. What the sink did
// not acknowledge stays queued.
func (d *drain) guard(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			d.engine.Logger.Error("a sink panicked", "sink", d.sink.Name, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("the sink panicked: %v", p)
		}
	}()
	return fn()
}

// deliverQueue walks the queue page by page, in sequence order, until it
// is empty, the sink stops, or the run is asked to stop.
func (d *drain) deliverQueue(ctx context.Context) error {
	var after uint64
	for d.stopped == nil && ctx.Err() == nil {
		page, err := d.engine.Store.Queue(ctx, d.sink.Name, after, deliverBatch)
		if err != nil || len(page) == 0 {
			return err
		}
		after = page[len(page)-1].Seq
		var batch []state.Queued
		inBatch := map[string]bool{}
		for _, q := range page {
			id := q.Change.Contact.ID
			if inBatch[id] {
				// A second change of the same contact waits for the first.
				if err := d.deliver(ctx, batch); err != nil {
					return err
				}
				batch, inBatch = nil, map[string]bool{}
			}
			if d.blocked[id] || d.stopped != nil {
				continue
			}
			batch = append(batch, q)
			inBatch[id] = true
		}
		if err := d.deliver(ctx, batch); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// deliver hands one batch to the sink and records what it acknowledged,
// unless the run was asked to stop.
func (d *drain) deliver(ctx context.Context, batch []state.Queued) error {
	if len(batch) == 0 {
		return nil
	}
	select {
	case <-d.stop:
		return ErrStopped
	default:
	}
	changes := make([]contact.Change, len(batch))
	for i, q := range batch {
		changes[i] = q.Change
	}
	errs := d.sink.Sink.Deliver(ctx, changes)
	if len(errs) != len(batch) {
		return fmt.Errorf("sink %s returned %d results for %d changes", d.sink.Name, len(errs), len(batch))
	}
	var (
		acked   []uint64
		burials []state.Burial
	)
	for i, err := range errs {
		id := batch[i].Change.Contact.ID
		if err != nil {
			d.report.Failed++
		}
		switch {
		case err == nil:
			acked = append(acked, batch[i].Seq)
		case errors.Is(err, sinks.ErrGone):
			if d.stopped == nil {
				d.stopped = err
			}
			d.gone = true
		case errors.Is(err, sinks.ErrUnavailable) || ctx.Err() != nil:
			if d.stopped == nil {
				d.stopped = err
			}
		case errors.Is(err, sinks.ErrPermanent):
			burials = append(burials, state.Burial{Seq: batch[i].Seq, Error: err.Error(), At: d.engine.now()})
			d.engine.Logger.Error("sink refused a change for good: it moves to the dead letters", "sink", d.sink.Name, "contact", id, "event", batch[i].Change.ID, "error", err)
		default:
			d.blocked[id] = true
			d.failures = append(d.failures, state.Failure{Contact: id, Error: err.Error()})
			d.engine.Logger.Warn("sink could not take a contact; it stays queued", "sink", d.sink.Name, "contact", id, "error", err)
		}
	}
	if err := d.engine.Store.Bury(ctx, d.sink.Name, burials); err != nil {
		return err
	}
	d.report.Buried += len(burials)
	crashpoint.Hit("after-deliver")
	if _, ok := d.sink.Sink.(sinks.Committer); ok {
		d.staged = append(d.staged, acked...)
		return nil
	}
	return d.ack(ctx, acked)
}

// commit makes a Committer's staged changes durable, then acknowledges them.
func (d *drain) commit(ctx context.Context, c sinks.Committer) error {
	if err := c.Commit(ctx); err != nil {
		return err
	}
	crashpoint.Hit("after-commit")
	for chunk := range slices.Chunk(d.staged, commitBatch) {
		if err := d.ack(ctx, chunk); err != nil {
			return err
		}
	}
	return nil
}

func (d *drain) ack(ctx context.Context, seqs []uint64) error {
	if err := d.engine.Store.Ack(ctx, d.sink.Name, seqs); err != nil {
		return err
	}
	d.report.Delivered += len(seqs)
	d.engine.progress(StageDelivered, int(d.delivered.Add(int64(len(seqs)))))
	return nil
}

// reseal asks the sink for the seal of its destination as the run leaves
// it, for the next audit, unless the audit found drift it left in place
// (on_drift: report): then the old seal stays, so that the next run finds
// and reports the drift again. A seal the sink cannot give is forgotten:
// the next audit looks at everything.
func (d *drain) reseal(ctx context.Context, a sinks.Auditor) {
	if d.drift != nil && !d.drift.Repaired {
		return
	}
	seal, err := a.Seal(ctx)
	if err != nil {
		d.engine.Logger.Warn("sink could not seal its destination: the next run reads it whole", "sink", d.sink.Name, "error", err)
		seal = nil
	}
	d.seal = seal
}

// record keeps the sink's outcome in the state, for `status`. The
// outcome itself is the run's to report: it is in the sink's report.
func (d *drain) record(ctx context.Context, err error) {
	now := d.engine.now()
	uerr := d.engine.Store.UpdateSink(ctx, d.sink.Name, func(info *state.SinkInfo) {
		info.Failures = d.failures
		info.LastError = ""
		info.Seal = d.seal
		if d.drift != nil {
			info.LastDrift = d.drift
		}
		if d.gone {
			info.Disabled = d.stopped.Error()
		}
		switch {
		case errors.Is(err, ErrStopped):
		case err != nil:
			info.LastError = err.Error()
		case len(d.failures) > 0:
			info.LastError = fmt.Sprintf("%d contacts could not be delivered", len(d.failures))
		default:
			info.LastSuccessAt = &now
		}
	})
	if uerr != nil { // the run's outcome stands: only status misses it
		d.engine.Logger.Error("could not record the sink's outcome", "sink", d.sink.Name, "error", uerr)
	}
}
