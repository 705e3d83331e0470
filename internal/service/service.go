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
	"log/slog"
	"net"
	"os"
	"sync"
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

// defaultCancelGrace is the CancelGrace of a Service that sets none.
const defaultCancelGrace = 5 * time.Second

// Why POST /sync started no run.
var (
	errShuttingDown = errors.New("shutting down")
	errNoWorkspace  = errors.New("no such workspace")
)

// Service schedules and serves. Set the exported fields, then call Serve.
type Service struct {
	// Reload reads the settings again, on SIGHUP. On error the service
	// keeps the settings it has.
	Reload func() (Settings, error)
	// Status reads a workspace's state, for /status and the metrics.
	Status func(ctx context.Context, workspace string) (state.Status, error)
	// Redeliver queues a sink's dead letters again (state.Store's
	// Redeliver), for POST /sinks/{name}/redeliver.
	Redeliver func(ctx context.Context, workspace, sink, event string) (int, error)
	// Leases, when set, shares the workspaces out among the instances of
	// a shared state backend: this service runs only those it holds.
	// Without it, every configured workspace is this service's.
	Leases Leases
	// HTTP is how the listener on Serve's ln treats its clients.
	HTTP    HTTPSettings
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// CancelGrace is how long a run cancelled at the shutdown timeout may
	// take to return before Serve gives up on it and returns ErrStuck;
	// zero means 5 seconds.
	CancelGrace time.Duration

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

// workspace returns the workspace of that name, or nil.
func (s *Service) workspace(name string) *workspace {
	for _, w := range s.workspaces {
		if w.Name == name {
			return w
		}
	}
	return nil
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
		stopHTTP := s.serveHTTP(ln)
		defer func() { stopHTTP(err != nil) }()
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
