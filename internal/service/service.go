// Package service runs connect-sync as a long-lived service: it syncs each
// workspace on its own cron schedule and on demand (POST /sync), never two
// runs of one workspace at once, reloads its settings on SIGHUP, and on
// SIGTERM lets the runs in progress finish the deliveries in flight before
// it exits. It serves /metrics, /status, /healthz and /readyz, and tells
// systemd how it is doing.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/lease"
	"github.com/connect-sync/connect-sync/internal/metrics"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Job is one sync run of a workspace. When stop is closed the run should
// end early and cleanly (engine.Options.Stop); when ctx is cancelled it
// must end at once.
type Job func(ctx context.Context, stop <-chan struct{}) (engine.Report, error)

// Workspace is what the config decides for one workspace.
type Workspace struct {
	Name string
	// Schedule must fire: config rejects schedules that never do.
	Schedule cron.Schedule
	Job      Job
}

// Settings are what the config decides. A reload replaces them whole.
type Settings struct {
	Workspaces      []Workspace   // at least one, names unique
	Jitter          time.Duration // a random delay up to this before each scheduled run
	RunOnStart      bool
	ShutdownTimeout time.Duration
}

// Why Serve returned early; main exits 1 for both. Everything acknowledged
// is in the state file already; the rest is delivered by the next run.
var (
	ErrInterrupted = errors.New("second signal: exiting without waiting for the run in progress")
	ErrStuck       = errors.New("the run did not end after it was cancelled: exiting without it")
)

// ErrLeaseLost ends a run whose workspace's lease ended under it: a run
// stopped early (engine.ErrStopped), not a failure of the workspace's, as
// another instance goes on from where it got.
var ErrLeaseLost = errors.New("the workspace's lease ended during the run")

// cancelGrace is how long a cancelled run may take to return before Serve
// gives up on it; a variable so that tests need not wait that long.
var cancelGrace = 5 * time.Second

// Service schedules and serves. Set the exported fields, then call Serve.
type Service struct {
	// Reload reads the settings again, on SIGHUP. On error the service
	// keeps the settings it has.
	Reload func() (Settings, error)
	// Status reads a workspace's state, for /status and the metrics.
	Status func(workspace string) (state.Status, error)
	// Redeliver queues a sink's dead letters again (state.Workspace's
	// Redeliver), for POST /sinks/{name}/redeliver.
	Redeliver func(workspace, sink, event string) (int, error)
	// Leases, when set, shares the workspaces out among the instances of
	// a shared state backend: this service runs only those it holds.
	// Without it, every configured workspace is this service's.
	Leases  Leases
	Metrics *metrics.Metrics
	Logger  *slog.Logger

	// mu guards the settings and the workspaces, which the loop changes
	// and the HTTP handlers read.
	mu         sync.Mutex
	settings   Settings
	workspaces []*workspace // in the config's order
	requests   chan syncRequest
	quit       chan struct{} // closed when shutdown starts
}

// Leases is what the service needs of a lease.Manager.
type Leases interface {
	SetWorkspaces(names []string) error
	// Leases lists the workspaces held here; Changed signals a change.
	Leases() []lease.Lease
	Changed() <-chan struct{}
	// Busy returns the context a run of a held workspace must use, which
	// ends with the lease; Idle ends what Busy began.
	Busy(workspace string) (context.Context, bool)
	Idle(workspace string)
	// Holders lists which instance holds which workspace.
	Holders(ctx context.Context) ([]lease.Holder, error)
	Instance() string
	// Err says why leases cannot be taken or renewed now, if they cannot.
	Err() error
}

// workspace is one workspace's schedule and runs. Only the loop writes its
// fields, under Service.mu for those the HTTP handlers read.
type workspace struct {
	Workspace
	metrics *metrics.Workspace
	logger  *slog.Logger

	next time.Time     // the next scheduled run, jitter included
	stop chan struct{} // non-nil while a run goes; closed to stop it
	// startAgain asks for a run as soon as the one going ends: the
	// workspace was taken again while a run of its earlier hold ended.
	startAgain bool
	removed    bool // the config no longer has it: it goes when its run ends
	held       bool // this service may run it: it holds its lease, or there are no leases

	running     bool       // a run goes, or the first one is about to
	last        *state.Run // the last finished run
	lastSuccess time.Time  // when the last successful run finished
}

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

// syncRequest is POST /sync: start a run of the named workspace, or of
// every one when name is empty.
type syncRequest struct {
	name  string
	reply chan syncReply
}

type syncReply struct {
	started, running []string
	elsewhere        []string // held by another instance
	err              error
}

// loop is the state of one Serve: its single goroutine owns it.
type loop struct {
	*Service
	signals  <-chan os.Signal
	ctx      context.Context // cancelled to end the runs at once
	cancel   context.CancelFunc
	done     chan result
	served   chan struct{}    // closed when Serve returns: runs left behind report to nobody
	watchdog <-chan time.Time // nil without a watchdog
}

// Serve runs the service until SIGTERM or SIGINT arrives on signals, then
// shuts down gracefully and returns nil; SIGHUP reloads. It serves HTTP on
// ln unless ln is nil.
func (s *Service) Serve(settings Settings, signals <-chan os.Signal, ln net.Listener) (err error) {
	s.requests = make(chan syncRequest)
	s.quit = make(chan struct{})
	l := &loop{Service: s, signals: signals, done: make(chan result), served: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	defer l.cancel()
	defer close(l.served)
	l.apply(settings)
	if ln != nil {
		srv := &http.Server{Handler: s.handler(ln.Addr()), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.Logger.Error("HTTP listener failed", "error", err)
			}
		}()
		defer func() {
			if err != nil { // exiting at once: no wait for open connections
				srv.Close()
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if srv.Shutdown(ctx) != nil {
				// A client still holds a connection that never became idle
				// (one that has sent no request yet, say).
				srv.Close()
			}
		}()
		s.Logger.Info("serving metrics, status and health", "address", ln.Addr().String())
	}

	// The watchdog is pinged from this loop, so a loop that hangs stops
	// the pings and systemd restarts the service; runs have their own
	// goroutines and do not hold it up.
	if interval, werr := watchdogInterval(); werr != nil {
		s.Logger.Warn("ignoring the watchdog settings", "error", werr)
	} else if interval > 0 {
		ticker := time.NewTicker(interval / 2)
		defer ticker.Stop()
		l.watchdog = ticker.C
	}
	return l.run()
}

func (l *loop) run() error {
	next := time.NewTimer(l.untilNext())
	defer next.Stop()
	notify("READY=1")
	if l.settings.RunOnStart {
		for _, w := range l.workspaces {
			l.start(w)
		}
	}
	var leases <-chan struct{} // nil, never ready, without leases
	if l.Leases != nil {
		leases = l.Leases.Changed()
	}
	for {
		select {
		case <-next.C:
			l.due(time.Now())
			next.Reset(l.untilNext())
		case <-leases:
			l.leasesChanged(time.Now())
			next.Reset(l.untilNext())
		case req := <-l.requests:
			req.reply <- l.requested(req.name)
		case r := <-l.done:
			l.finished(r)
		case <-l.watchdog:
			notify("WATCHDOG=1")
		case sig := <-l.signals:
			if sig == syscall.SIGHUP {
				l.reload()
				next.Reset(l.untilNext())
				continue
			}
			l.Logger.Info("stopping", "signal", sig.String())
			return l.shutdown()
		}
	}
}

// apply makes settings the service's and returns the workspaces new to it:
// they are scheduled, those it keeps get their new schedule and job, and
// those gone from it are dropped, or dropped when their run ends.
func (l *loop) apply(settings Settings) (added []*workspace) {
	now := time.Now()
	var kept []*workspace
	for _, ws := range settings.Workspaces {
		w := l.workspace(ws.Name)
		if w == nil {
			w = &workspace{
				Workspace: ws,
				metrics:   l.Metrics.Workspace(ws.Name),
				logger:    l.Logger.With("workspace", ws.Name),
				running:   settings.RunOnStart, // so /readyz does not call it ready before its first run
				held:      l.Leases == nil,
			}
			if w.held {
				l.readState(w)
			}
			added = append(added, w)
		}
		l.mu.Lock()
		w.Workspace, w.removed = ws, false
		l.mu.Unlock()
		w.next = l.nextRun(w, settings.Jitter, now)
		kept = append(kept, w)
	}
	var leaving []*workspace
	for _, w := range l.workspaces {
		if !slices.Contains(kept, w) && w.stop != nil {
			leaving = append(leaving, w)
		}
	}
	l.mu.Lock()
	for _, w := range leaving {
		w.removed = true
	}
	l.settings, l.workspaces = settings, append(kept, leaving...)
	l.mu.Unlock()
	l.retainMetrics()
	if l.Leases != nil {
		names := make([]string, len(settings.Workspaces))
		for i, ws := range settings.Workspaces {
			names[i] = ws.Name
		}
		if err := l.Leases.SetWorkspaces(names); err != nil {
			l.Logger.Error("could not share the workspaces out", "error", err)
		}
	}
	return added
}

// leasesChanged takes up the workspaces whose lease this service took,
// each with a run at once (one taken over from a dead instance may have
// waited a TTL already), and lets go of those it lost or gives back: a
// lost lease has ended its run's context already, and a run of one being
// given back is asked to stop after its deliveries in flight, as for a
// shutdown, so that the other instance takes over soon.
func (l *loop) leasesChanged(now time.Time) {
	held := map[string]bool{}
	for _, ls := range l.Leases.Leases() {
		held[ls.Workspace] = !ls.Releasing
	}
	for _, w := range l.workspaces {
		switch mine := held[w.Name]; {
		case mine && !w.held:
			l.setHeld(w, true)
			w.logger.Info("took the workspace's lease")
			w.next = l.nextRun(w, l.settings.Jitter, now)
			switch {
			case w.removed:
			case w.stop == nil:
				l.start(w)
			default: // the run of an earlier hold is still ending
				w.startAgain = true
			}
		case !mine && w.held:
			l.setHeld(w, false)
			if _, givingBack := held[w.Name]; givingBack {
				w.logger.Info("giving the workspace's lease back")
				l.stopRun(w)
			} else {
				w.logger.Warn("lost the workspace's lease") // its run's context has ended
			}
		}
	}
}

func (l *loop) setHeld(w *workspace, held bool) {
	l.mu.Lock()
	w.held = held
	l.mu.Unlock()
}

// stopRun asks w's run, if one goes, to end after its deliveries in
// flight.
func (l *loop) stopRun(w *workspace) {
	if w.stop == nil {
		return
	}
	select {
	case <-w.stop: // asked already
	default:
		close(w.stop)
	}
}

// readState starts a workspace's readiness and gauges from what its state
// recorded.
func (l *loop) readState(w *workspace) {
	st, err := l.Status(w.Name)
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

// workspace returns the workspace of that name, or nil.
func (s *Service) workspace(name string) *workspace {
	for _, w := range s.workspaces {
		if w.Name == name {
			return w
		}
	}
	return nil
}

// retainMetrics drops the series of workspaces the service no longer has.
func (l *loop) retainMetrics() {
	names := make([]string, len(l.workspaces))
	for i, w := range l.workspaces {
		names[i] = w.Name
	}
	l.Metrics.Retain(names)
}

// due starts every workspace whose scheduled time has come, or counts its
// run as skipped while the previous one still goes.
func (l *loop) due(now time.Time) {
	for _, w := range l.workspaces {
		if w.removed || !w.held || w.next.After(now) {
			continue // untilNext does not count these
		}
		if w.stop != nil {
			w.logger.Warn("scheduled run skipped: the previous run is still going")
			w.metrics.RunSkipped()
		} else {
			l.start(w)
		}
		w.next = l.nextRun(w, l.settings.Jitter, now)
	}
}

// nextRun is a workspace's next scheduled run after now, jitter included.
func (l *loop) nextRun(w *workspace, jitter time.Duration, now time.Time) time.Time {
	next := w.Schedule.Next(now)
	if jitter > 0 {
		next = next.Add(rand.N(jitter))
	}
	return next
}

// untilNext is how long until the next scheduled run of any workspace.
func (l *loop) untilNext() time.Duration {
	first := time.Now().Add(24 * time.Hour) // none is scheduled: a reload may bring one
	for _, w := range l.workspaces {
		if !w.removed && w.held && w.next.Before(first) {
			first = w.next
		}
	}
	return max(time.Until(first), 0)
}

// requested starts what POST /sync asked for: one workspace or all.
func (l *loop) requested(name string) syncReply {
	var reply syncReply
	for _, w := range l.workspaces {
		switch {
		case w.removed || (name != "" && w.Name != name):
		case !w.held:
			reply.elsewhere = append(reply.elsewhere, w.Name)
		case w.stop != nil:
			reply.running = append(reply.running, w.Name)
		case l.start(w):
			reply.started = append(reply.started, w.Name)
		default: // its lease just ended, and leasesChanged will say so
			reply.elsewhere = append(reply.elsewhere, w.Name)
		}
	}
	if reply.started == nil && reply.running == nil && reply.elsewhere == nil {
		reply.err = fmt.Errorf("%w: %q", errNoWorkspace, name)
	}
	return reply
}

// start starts a run of w in its own goroutine, if this service holds it,
// and reports whether it did. A panic in the run fails the run rather than
// the service.
func (l *loop) start(w *workspace) bool {
	if !w.held {
		return false
	}
	ctx, idle := l.ctx, func() {}
	if l.Leases != nil {
		// The run ends at once with the lease (or the service), and the
		// lease is not given back while the run goes.
		leaseCtx, ok := l.Leases.Busy(w.Name)
		if !ok {
			return false
		}
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(l.ctx)
		stopWithLease := context.AfterFunc(leaseCtx, func() { cancel(ErrLeaseLost) })
		idle = func() {
			stopWithLease()
			cancel(nil)
			l.Leases.Idle(w.Name)
		}
	}
	stop := make(chan struct{})
	w.stop = stop
	l.mu.Lock()
	w.running = true
	l.mu.Unlock()
	l.notifyStatus(w, "Syncing")
	job := w.Job // a reload may replace it meanwhile
	go func() {
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
				st, err := l.Status(w.Name)
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
	}()
	return true
}

// shutdown stops the runs in progress, if any: first by asking them to end
// after their deliveries in flight, then, after the shutdown timeout, by
// cancelling them. A second signal returns ErrInterrupted at once.
func (l *loop) shutdown() error {
	close(l.quit)
	notify("STOPPING=1")
	if l.Leases != nil {
		// Take no more workspaces, and give each back as soon as its run
		// has ended, rather than once the last one has.
		if err := l.Leases.SetWorkspaces(nil); err != nil {
			l.Logger.Error("could not give the workspaces back", "error", err)
		}
	}
	running := 0
	for _, w := range l.workspaces {
		if w.stop != nil {
			l.stopRun(w)
			running++
		}
	}
	if running == 0 {
		return nil
	}
	l.Logger.Info("letting the runs in progress finish their current deliveries", "runs", running, "timeout", l.settings.ShutdownTimeout)
	deadline := time.NewTimer(l.settings.ShutdownTimeout)
	defer deadline.Stop()
	var gaveUp <-chan time.Time
	for running > 0 {
		select {
		case r := <-l.done:
			l.finished(r)
			running--
		case <-deadline.C:
			l.Logger.Warn("the runs did not stop within shutdown_timeout: cancelling them")
			l.cancel()
			gaveUp = time.After(cancelGrace)
		case <-gaveUp:
			return ErrStuck
		case <-l.watchdog:
			notify("WATCHDOG=1")
		case sig := <-l.signals:
			if sig != syscall.SIGHUP {
				return ErrInterrupted
			}
		}
	}
	return nil
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
	run := &state.Run{StartedAt: r.started, FinishedAt: r.finished, Result: state.RunSucceeded}
	at := r.finished.Format(time.TimeOnly)
	status := fmt.Sprintf("Last run %s: %d created, %d updated, %d deleted", at, r.report.Created, r.report.Updated, r.report.Deleted)
	switch {
	case errors.Is(r.err, ErrLeaseLost):
		run.Result, run.Error = state.RunStopped, r.err.Error()
		status = fmt.Sprintf("Last run %s stopped: the lease was lost", at)
		w.logger.Warn("run stopped: this instance lost the workspace's lease", "error", r.err)
	case errors.Is(r.err, engine.ErrStopped):
		run.Result, run.Error = state.RunStopped, r.err.Error()
		status = fmt.Sprintf("Last run %s stopped early", at)
	case r.err != nil:
		run.Result, run.Error = state.RunFailed, r.err.Error()
		status = fmt.Sprintf("Last run %s failed: %s", at, firstLine(run.Error))
		w.logger.Error("run failed", "error", r.err)
	}
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
		l.mu.Lock()
		l.workspaces = slices.DeleteFunc(l.workspaces, func(o *workspace) bool { return o == w })
		l.mu.Unlock()
		l.retainMetrics()
		return
	}
	if r.stateOK {
		w.metrics.ObserveState(r.state)
	}
	l.notifyStatus(w, status)
}

// notifyStatus tells systemd how a workspace is doing, naming it when
// there are several.
func (l *loop) notifyStatus(w *workspace, status string) {
	if len(l.names(false)) > 1 {
		status = w.Name + ": " + status
	}
	notify("STATUS=" + status)
}

// reload swaps in new settings, or keeps the old ones if they are bad.
func (l *loop) reload() {
	notify("RELOADING=1")
	defer notify("READY=1")
	settings, err := l.Reload()
	if err != nil {
		l.Logger.Error("config reload failed: keeping the config in use", "error", err)
		return
	}
	added := l.apply(settings)
	l.Logger.Info("config reloaded: it applies from the next run of each workspace", "workspaces", len(settings.Workspaces), "new", len(added))
	if settings.RunOnStart {
		for _, w := range added {
			l.start(w)
		}
	}
}

// requestRun asks the loop to start runs now, as POST /sync does.
func (s *Service) requestRun(name string) (syncReply, error) {
	reply := make(chan syncReply, 1)
	select {
	case s.requests <- syncRequest{name: name, reply: reply}:
		r := <-reply
		return r, r.err
	case <-s.quit:
		return syncReply{}, errShuttingDown
	}
}

var (
	errShuttingDown = errors.New("shutting down")
	errNoWorkspace  = errors.New("no such workspace")
)
