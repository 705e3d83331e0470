// Package service runs connect-sync as a long-lived service: it syncs on a
// cron schedule and on demand (POST /sync), never two runs at once,
// reloads its settings on SIGHUP, and on SIGTERM lets the run in progress
// finish the deliveries in flight before it exits. It serves /metrics,
// /status, /healthz and /readyz, and tells systemd how it is doing.
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
	"sync"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/metrics"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Job is one sync run. When stop is closed the run
// should end early and cleanly (engine.Options.Stop); when ctx is
// cancelled it must end at once.
type Job func(ctx context.Context, stop <-chan struct{}) (engine.Report, error)

// Settings are what the config decides. A reload replaces them whole.
type Settings struct {
	// Schedule must fire: config rejects schedules that never do.
	Schedule        cron.Schedule
	Jitter          time.Duration // a random delay up to this before each scheduled run
	RunOnStart      bool
	ShutdownTimeout time.Duration
	Job             Job
}

// Why Serve returned early; main exits 1 for both. Everything acknowledged
// is in the state file already; the rest is delivered by the next run.
var (
	ErrInterrupted = errors.New("second signal: exiting without waiting for the run in progress")
	ErrStuck       = errors.New("the run did not end after it was cancelled: exiting without it")
)

// cancelGrace is how long a cancelled run may take to return before Serve
// gives up on it; a variable so that tests need not wait that long.
var cancelGrace = 5 * time.Second

// Service schedules and serves. Set the exported fields, then call Serve.
type Service struct {
	// Reload reads the settings again, on SIGHUP. On error the service
	// keeps the settings it has.
	Reload func() (Settings, error)
	// Status reads the state file, for /status and the metrics.
	Status func() (state.Status, error)
	// Redeliver queues a sink's dead letters again (state.DB.Redeliver),
	// for POST /sinks/{name}/redeliver.
	Redeliver func(sink, event string) (int, error)
	Metrics   *metrics.Metrics
	Logger    *slog.Logger

	mu          sync.Mutex
	settings    Settings
	running     bool       // a run goes, or the first one is about to
	last        *state.Run // the last finished run
	lastSuccess time.Time  // when the last successful run finished
	requests    chan chan bool
	quit        chan struct{} // closed when shutdown starts
}

// result is a finished run.
type result struct {
	started, finished time.Time
	report            engine.Report
	err               error
}

// loop is the state of one Serve: its single goroutine owns it.
type loop struct {
	*Service
	signals  <-chan os.Signal
	ctx      context.Context // cancelled to end a run at once
	cancel   context.CancelFunc
	done     chan result
	stop     chan struct{}    // non-nil while a run goes
	watchdog <-chan time.Time // nil without a watchdog
}

// Serve runs the service until SIGTERM or SIGINT arrives on signals, then
// shuts down gracefully and returns nil; SIGHUP reloads. It serves HTTP on
// ln unless ln is nil.
func (s *Service) Serve(settings Settings, signals <-chan os.Signal, ln net.Listener) (err error) {
	s.settings = settings
	s.requests = make(chan chan bool)
	s.quit = make(chan struct{})
	s.running = settings.RunOnStart // so /readyz does not call it ready before the first run
	if st, err := s.Status(); err != nil {
		s.Logger.Warn("could not read the state file's last run", "error", err)
	} else {
		s.last = st.LastRun
		if st.LastSuccessAt != nil {
			s.lastSuccess = *st.LastSuccessAt
		}
		s.Metrics.ObserveState(st)
	}
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

	l := &loop{Service: s, signals: signals, done: make(chan result, 1)}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	defer l.cancel()
	// The watchdog is pinged from this loop, so a loop that hangs stops
	// the pings and systemd restarts the service; runs have their own
	// goroutine and do not hold it up.
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
		l.start()
	}
	for {
		select {
		case <-next.C:
			if l.stop != nil {
				l.Logger.Warn("scheduled run skipped: the previous run is still going")
				l.Metrics.RunSkipped()
			} else {
				l.start()
			}
			next.Reset(l.untilNext())
		case reply := <-l.requests:
			started := l.stop == nil
			if started {
				l.start()
			}
			reply <- started
		case r := <-l.done:
			l.stop = nil
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

// start starts a run in its own goroutine. A panic in it fails the run
// rather than the service.
func (l *loop) start() {
	stop := make(chan struct{})
	l.stop = stop
	l.mu.Lock()
	l.running = true
	job := l.settings.Job
	l.mu.Unlock()
	notify("STATUS=Syncing")
	go func() {
		r := result{started: time.Now()}
		defer func() {
			if p := recover(); p != nil {
				l.Logger.Error("a run panicked", "panic", p, "stack", string(debug.Stack()))
				r.err = fmt.Errorf("the run panicked: %v", p)
			}
			r.finished = time.Now()
			l.done <- r
		}()
		r.report, r.err = job(l.ctx, stop)
	}()
}

// shutdown stops the run in progress, if any: first by asking it to end
// after its deliveries in flight, then, after the shutdown timeout, by
// cancelling it. A second signal returns ErrInterrupted at once.
func (l *loop) shutdown() error {
	close(l.quit)
	notify("STOPPING=1")
	if l.stop == nil {
		return nil
	}
	l.mu.Lock()
	timeout := l.settings.ShutdownTimeout
	l.mu.Unlock()
	l.Logger.Info("letting the run in progress finish its current deliveries", "timeout", timeout)
	close(l.stop)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var gaveUp <-chan time.Time
	for {
		select {
		case r := <-l.done:
			l.finished(r)
			return nil
		case <-deadline.C:
			l.Logger.Warn("the run did not stop within shutdown_timeout: cancelling it")
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
}

// finished records a run's outcome for readiness, metrics, the log and
// systemd.
func (s *Service) finished(r result) {
	run := &state.Run{StartedAt: r.started, FinishedAt: r.finished, Result: state.RunSucceeded}
	at := r.finished.Format(time.TimeOnly)
	status := fmt.Sprintf("Last run %s: %d created, %d updated, %d deleted", at, r.report.Created, r.report.Updated, r.report.Deleted)
	switch {
	case errors.Is(r.err, engine.ErrStopped):
		run.Result, run.Error = state.RunStopped, r.err.Error()
		status = fmt.Sprintf("Last run %s stopped early", at)
	case r.err != nil:
		run.Result, run.Error = state.RunFailed, r.err.Error()
		status = fmt.Sprintf("Last run %s failed: %s", at, firstLine(run.Error))
		s.Logger.Error("run failed", "error", r.err)
	}
	s.mu.Lock()
	s.running = false
	s.last = run
	if run.Result == state.RunSucceeded {
		s.lastSuccess = r.finished
	}
	s.mu.Unlock()
	s.Metrics.ObserveRun(r.started, r.finished, r.report, r.err)
	if st, err := s.Status(); err == nil {
		s.Metrics.ObserveState(st)
	}
	notify("STATUS=" + status)
}

// reload swaps in new settings, or keeps the old ones if they are bad.
func (s *Service) reload() {
	notify("RELOADING=1")
	defer notify("READY=1")
	settings, err := s.Reload()
	if err != nil {
		s.Logger.Error("config reload failed: keeping the config in use", "error", err)
		return
	}
	s.mu.Lock()
	s.settings = settings
	s.mu.Unlock()
	s.Logger.Info("config reloaded: it applies from the next run")
}

// untilNext is how long until the next scheduled run, jitter included.
func (s *Service) untilNext() time.Duration {
	s.mu.Lock()
	sched, jitter := s.settings.Schedule, s.settings.Jitter
	s.mu.Unlock()
	now := time.Now()
	d := sched.Next(now).Sub(now)
	if jitter > 0 {
		d += rand.N(jitter)
	}
	return d
}

// requestRun asks the loop for a run now; it reports whether one started.
func (s *Service) requestRun() (started bool, err error) {
	reply := make(chan bool, 1)
	select {
	case s.requests <- reply:
		return <-reply, nil
	case <-s.quit:
		return false, errShuttingDown
	}
}

var errShuttingDown = errors.New("shutting down")
