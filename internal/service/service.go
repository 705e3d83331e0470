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
	"sync"
	"syscall"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/metrics"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Job is one sync run. When stop is closed the run should end early and
// cleanly (engine.Options.Stop); when ctx is cancelled it must end at once.
type Job func(ctx context.Context, stop <-chan struct{}) (engine.Report, error)

// Settings are what the config decides. A reload replaces them whole.
type Settings struct {
	Schedule        cron.Schedule
	Jitter          time.Duration // a random delay up to this before each scheduled run
	RunOnStart      bool
	ShutdownTimeout time.Duration
	Job             Job
}

// ErrInterrupted means a second signal ended the service without waiting
// for the run in progress. Everything acknowledged is in the state file
// already; the rest is delivered by the next run.
var ErrInterrupted = errors.New("second signal: exiting without waiting for the run in progress")

// Service schedules and serves. Set the exported fields, then call Serve.
type Service struct {
	// Reload reads the settings again, on SIGHUP. On error the service
	// keeps the settings it has.
	Reload func() (Settings, error)
	// Status reads the state file, for /status and the metrics.
	Status  func() (state.Status, error)
	Metrics *metrics.Metrics
	Logger  *slog.Logger

	mu       sync.Mutex
	settings Settings
	running  bool
	last     *state.Run // the last finished run, from the state file at start
	requests chan chan bool
	quit     chan struct{} // closed when shutdown starts
}

// result is a finished run.
type result struct {
	started, finished time.Time
	report            engine.Report
	err               error
}

// Serve runs the service until SIGTERM or SIGINT arrives on signals, then
// shuts down gracefully and returns nil; SIGHUP reloads. It serves HTTP on
// ln unless ln is nil.
func (s *Service) Serve(settings Settings, signals <-chan os.Signal, ln net.Listener) error {
	s.settings = settings
	s.requests = make(chan chan bool)
	s.quit = make(chan struct{})
	if st, err := s.Status(); err != nil {
		s.Logger.Warn("could not read the state file's last run", "error", err)
	} else {
		s.last = st.LastRun
		s.Metrics.ObserveState(st)
	}
	if ln != nil {
		srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.Logger.Error("HTTP listener failed", "error", err)
			}
		}()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		}()
		s.Logger.Info("serving metrics, status and health", "address", ln.Addr().String())
	}
	defer s.startWatchdog()()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 1)
	var stop chan struct{} // non-nil while a run goes
	start := func() {
		stop = make(chan struct{})
		s.mu.Lock()
		s.running = true
		job := s.settings.Job
		s.mu.Unlock()
		notify("STATUS=Syncing")
		go func(stop <-chan struct{}) {
			started := time.Now()
			report, err := job(ctx, stop)
			done <- result{started: started, finished: time.Now(), report: report, err: err}
		}(stop)
	}

	next := time.NewTimer(s.untilNext())
	defer next.Stop()
	notify("READY=1")
	if settings.RunOnStart {
		start()
	}
	for {
		select {
		case <-next.C:
			if stop != nil {
				s.Logger.Warn("scheduled run skipped: the previous run is still going")
				s.Metrics.RunSkipped()
			} else {
				start()
			}
			next.Reset(s.untilNext())
		case reply := <-s.requests:
			started := stop == nil
			if started {
				start()
			}
			reply <- started
		case r := <-done:
			stop = nil
			s.finished(r)
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				s.reload()
				next.Reset(s.untilNext())
				continue
			}
			s.Logger.Info("stopping", "signal", sig.String())
			return s.shutdown(stop, done, cancel, signals)
		}
	}
}

// shutdown stops the run in progress, if any: first by asking it to end
// after its deliveries in flight, then, after the shutdown timeout, by
// cancelling it. A second signal returns ErrInterrupted at once.
func (s *Service) shutdown(stop chan struct{}, done <-chan result, cancel context.CancelFunc, signals <-chan os.Signal) error {
	close(s.quit)
	notify("STOPPING=1")
	if stop == nil {
		return nil
	}
	s.mu.Lock()
	timeout := s.settings.ShutdownTimeout
	s.mu.Unlock()
	s.Logger.Info("letting the run in progress finish its current deliveries", "timeout", timeout)
	close(stop)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case r := <-done:
			s.finished(r)
			return nil
		case <-deadline.C:
			s.Logger.Warn("the run did not stop within shutdown_timeout: cancelling it")
			cancel()
		case sig := <-signals:
			if sig != syscall.SIGHUP {
				return ErrInterrupted
			}
		}
	}
}

// finished records a run's outcome for readiness, metrics and systemd.
func (s *Service) finished(r result) {
	run := &state.Run{StartedAt: r.started, FinishedAt: r.finished, Result: "success"}
	status := fmt.Sprintf("Last run %s: %d created, %d updated, %d deleted", r.finished.Format(time.TimeOnly), r.report.Created, r.report.Updated, r.report.Deleted)
	if r.err != nil {
		run.Result, run.Error = "failure", r.err.Error()
		status = fmt.Sprintf("Last run %s failed: %s", r.finished.Format(time.TimeOnly), firstLine(run.Error))
	}
	s.mu.Lock()
	s.running = false
	s.last = run
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
