package service

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/state"
	"github.com/connect-sync/connect-sync/internal/terminal"
)

// result is a finished run.
type result struct {
	ws                *workspace
	started, finished time.Time
	report            engine.Report
	err               error
	// state is the workspace's state after the run, for the gauges when
	// stateOK. The run's goroutine reads it, not the loop: a state kept
	// remotely (JetStream) may take its timeout to answer, and meanwhile
	// the loop would start no run and follow no lease.
	state   state.Status
	stateOK bool
}

// start starts a run of w in its own goroutine, if this service holds it
// and is not shutting down, and reports whether it did.
func (l *loop) start(w *workspace) bool {
	if !w.held || l.shuttingDown() {
		return false
	}
	ctx, idle, ok := l.runContext(w)
	if !ok {
		return false
	}
	stop := make(chan struct{})
	w.stop = stop
	l.mu.Lock()
	w.running = true
	l.mu.Unlock()
	l.notifyStatus(w, "Syncing")
	go l.runJob(ctx, w, w.Job, stop, idle) // w.Job now: a reload may replace it meanwhile
	return true
}

// runJob runs job and reports the run to the loop, or to nobody once Serve
// has returned; idle is called when job has returned. A panic in the run
// fails the run rather than the service.
func (l *loop) runJob(ctx context.Context, w *workspace, job Job, stop <-chan struct{}, idle func()) {
	r := result{ws: w, started: time.Now()}
	readState := false
	defer func() {
		idle()
		if p := recover(); p != nil {
			w.logger.Error("a run panicked", "panic", p, "stack", string(debug.Stack()))
			r.err = fmt.Errorf("the run panicked: %v", p)
		}
		r.finished = time.Now()
		// Read once the lease is free to go, should the read be slow.
		if readState {
			st, err := l.Status(context.WithoutCancel(ctx), w.Name)
			r.state, r.stateOK = st, err == nil
		}
		select {
		case l.done <- r:
		case <-l.served: // Serve gave up on this run (a second signal, a stuck run)
		}
	}()
	r.report, r.err = job(ctx, stop)
	if r.err != nil && errors.Is(context.Cause(ctx), ErrLeaseLost) {
		r.err = fmt.Errorf("%w (%w): %w", engine.ErrStopped, ErrLeaseLost, r.err)
	}
	// Not once the run's context has ended: its lease lost (the state
	// is another's now), or the service giving up on it.
	readState = ctx.Err() == nil
}

// finished records a run's outcome for readiness, metrics, the log and
// systemd.
func (l *loop) finished(r result) {
	w := r.ws
	w.stop = nil
	defer func() {
		if w.startAgain {
			w.startAgain = false
			l.start(w)
		}
	}()
	run, status := outcome(r)
	l.mu.Lock()
	w.running = false
	w.last = run
	if run.Result == state.RunSucceeded {
		w.lastSuccess = r.finished
	}
	l.mu.Unlock()
	w.metrics.ObserveRun(r.started, r.finished, r.report, r.err)
	if w.removed {
		w.startAgain = false // the run of a hold taken before the removal: not again
		l.drop(w)
		return
	}
	if r.stateOK {
		w.metrics.ObserveState(r.state)
	}
	l.notifyStatus(w, status)
}

// outcome is what a finished run records, for readiness and /status, and
// the status it tells systemd. It logs why a run did not succeed, unless
// it was asked to stop.
func outcome(r result) (*state.Run, string) {
	run := &state.Run{StartedAt: r.started, FinishedAt: r.finished, Result: state.RunSucceeded}
	at := r.finished.Format(time.TimeOnly)
	status := fmt.Sprintf("Last run %s: %d created, %d updated, %d deleted", at, r.report.Created, r.report.Updated, r.report.Deleted)
	switch {
	case errors.Is(r.err, ErrLeaseLost):
		run.Result, run.Error = state.RunStopped, r.err.Error()
		status = fmt.Sprintf("Last run %s stopped: the lease was lost", at)
		r.ws.logger.Warn("run stopped: this instance lost the workspace's lease", "error", r.err)
	case errors.Is(r.err, engine.ErrStopped):
		run.Result, run.Error = state.RunStopped, r.err.Error()
		status = fmt.Sprintf("Last run %s stopped early", at)
	case r.err != nil:
		run.Result, run.Error = state.RunFailed, r.err.Error()
		// systemctl status shows it: an error may quote what a server
		// answered.
		status = fmt.Sprintf("Last run %s failed: %s", at, terminal.Escape(firstLine(run.Error)))
		r.ws.logger.Error("run failed", "error", r.err)
	}
	return run, status
}

// notifyStatus tells systemd how a workspace is doing, naming it when
// there are several.
func (l *loop) notifyStatus(w *workspace, status string) {
	if len(l.names(false)) > 1 {
		status = w.Name + ": " + status
	}
	notify("STATUS=" + status)
}

// readState starts a workspace's readiness and gauges from what its state
// recorded.
func (l *loop) readState(w *workspace) {
	st, err := l.Status(context.Background(), w.Name)
	if err != nil {
		w.logger.Warn("could not read the workspace's last run", "error", err)
		return
	}
	l.mu.Lock()
	w.last = st.LastRun
	if st.LastSuccessAt != nil {
		w.lastSuccess = *st.LastSuccessAt
	}
	l.mu.Unlock()
	w.metrics.ObserveState(st)
}
