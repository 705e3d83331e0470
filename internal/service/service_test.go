package service

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/metrics"
	"github.com/connect-sync/connect-sync/internal/state"
)

// every is a schedule finer than cron's one second, for tests.
type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// job is a sync run the test controls: each run reports its start and
// waits for release (or for whatever wait says).
type job struct {
	started chan int // the run's number
	release chan struct{}
	wait    func(ctx context.Context, stop <-chan struct{}, release <-chan struct{}) error

	mu                    sync.Mutex
	runs, running, maxRun int
}

func newJob() *job {
	return &job{started: make(chan int, 100), release: make(chan struct{})}
}

func (j *job) run(ctx context.Context, stop <-chan struct{}) (engine.Report, error) {
	j.mu.Lock()
	j.runs++
	j.running++
	j.maxRun = max(j.maxRun, j.running)
	n := j.runs
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		j.running--
		j.mu.Unlock()
	}()
	j.started <- n
	if j.wait != nil {
		return engine.Report{}, j.wait(ctx, stop, j.release)
	}
	<-j.release
	return engine.Report{Created: 1}, nil
}

// one is the settings' workspaces for a single one, named "default".
func one(sched cron.Schedule, job Job) []Workspace {
	return []Workspace{{Name: "default", Schedule: sched, Job: job}}
}

type harness struct {
	t       *testing.T
	svc     *Service
	url     string
	signals chan os.Signal
	exited  chan struct{} // closed when Serve returned err
	err     error
}

func start(t *testing.T, settings Settings, reload func() (Settings, error), options ...func(*Service)) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t,
		svc: &Service{
			Reload: reload,
			Status: func(workspace string) (state.Status, error) {
				return state.Status{Workspace: workspace, Contacts: 7}, nil
			},
			Metrics: metrics.New("test", false),
			Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		},
		url:     "http://" + ln.Addr().String(),
		signals: make(chan os.Signal, 2),
		exited:  make(chan struct{}),
	}
	if settings.ShutdownTimeout == 0 {
		settings.ShutdownTimeout = time.Minute
	}
	for _, option := range options {
		option(h.svc)
	}
	go func() {
		h.err = h.svc.Serve(settings, h.signals, ln)
		close(h.exited)
	}()
	t.Cleanup(func() {
		// The client may hold a connection it dialled but never used, which
		// a graceful shutdown would wait for.
		http.DefaultClient.CloseIdleConnections()
		// One signal: a second would exit without waiting for the runs.
		select {
		case <-h.exited:
		case h.signals <- syscall.SIGTERM:
			<-h.exited
		}
	})
	return h
}

// wait returns what Serve returned.
func (h *harness) wait() error {
	h.t.Helper()
	select {
	case <-h.exited:
		return h.err
	case <-time.After(10 * time.Second):
		h.t.Fatal("Serve did not return")
		return nil
	}
}

func (h *harness) post(path string) int {
	h.t.Helper()
	resp, err := http.Post(h.url+path, "", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (h *harness) get(path string, v any) int {
	h.t.Helper()
	resp, err := http.Get(h.url + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode
}

// counter reads a counter's value from the registry, summed over the
// series of the workspace given, or of every workspace.
func counter(t *testing.T, g prometheus.Gatherer, name string, workspace ...string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "workspace" && (len(workspace) == 0 || l.GetValue() == workspace[0]) {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// seriesOf counts the series of a workspace.
func seriesOf(t *testing.T, h *harness, workspace string) int {
	t.Helper()
	families, err := h.svc.Metrics.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "workspace" && l.GetValue() == workspace {
					n++
				}
			}
		}
	}
	return n
}
