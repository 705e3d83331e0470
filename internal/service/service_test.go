package service

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/metrics"
	"github.com/connect-sync/connect-sync/internal/state"
)

// every is a schedule at a fixed interval, to the nanosecond, where cron's
// @every rounds to the second.
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

// newService is a Service whose every workspace has 7 contacts, with the
// options applied.
func newService(reload func() (Settings, error), options ...func(*Service)) *Service {
	s := &Service{
		Reload: reload,
		Status: func(_ context.Context, workspace string) (state.Status, error) {
			return state.Status{Workspace: workspace, Contacts: 7}, nil
		},
		Metrics: metrics.New("test", false),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, option := range options {
		option(s)
	}
	return s
}

// harness runs a Service in the synctest bubble of the test that starts
// it, so that the test sees the service's clock and can wait for the
// service to settle. It calls the service's HTTP handler directly: a
// goroutine blocked on a socket would keep the bubble's clock from ever
// advancing.
type harness struct {
	t       *testing.T
	svc     *Service
	handler http.Handler
	signals chan os.Signal
	exited  chan struct{} // closed when Serve returned err
	err     error
}

// listenAddr is the address the handler is made for: a loopback one, like
// the default listen address, so that the Host checks apply.
var listenAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9464}

// start runs a Service with the settings, a minute's shutdown timeout
// unless they say otherwise, and returns once it has settled. It must be
// called inside a synctest bubble.
func start(t *testing.T, settings Settings, reload func() (Settings, error), options ...func(*Service)) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		svc:     newService(reload, options...),
		signals: make(chan os.Signal, 2),
		exited:  make(chan struct{}),
	}
	h.handler = h.svc.handler(listenAddr)
	if settings.ShutdownTimeout == 0 {
		settings.ShutdownTimeout = time.Minute
	}
	go func() {
		h.err = h.svc.Serve(settings, h.signals, nil)
		close(h.exited)
	}()
	// Once Serve waits in its loop it has made the channels the handlers
	// use, and Wait makes them seen here.
	synctest.Wait()
	t.Cleanup(func() {
		// One signal: a second would exit without waiting for the runs.
		select {
		case <-h.exited:
		case h.signals <- syscall.SIGTERM:
			<-h.exited
		}
	})
	return h
}

// returned reports whether Serve has returned, once every goroutine in the
// bubble is blocked.
func (h *harness) returned() bool {
	synctest.Wait()
	select {
	case <-h.exited:
		return true
	default:
		return false
	}
}

// returnsAfter checks that Serve returns exactly d from now, not a
// nanosecond sooner, and returns what it returned.
func (h *harness) returnsAfter(d time.Duration) error {
	h.t.Helper()
	if d > 0 {
		time.Sleep(d - time.Nanosecond)
		if h.returned() {
			h.t.Fatalf("Serve returned before %v", d)
		}
		time.Sleep(time.Nanosecond)
	}
	if !h.returned() {
		h.t.Fatalf("Serve had not returned after %v", d)
	}
	return h.err
}

// do sends the service a request, as a client of its listener would.
func (h *harness) do(method, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://"+listenAddr.String()+path, nil)
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

func (h *harness) post(path string) int {
	return h.do(http.MethodPost, path).Code
}

// get decodes the answer's JSON into v and returns its status code.
func (h *harness) get(path string, v any) int {
	h.t.Helper()
	rec := h.do(http.MethodGet, path)
	if err := json.NewDecoder(rec.Body).Decode(v); err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return rec.Code
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
