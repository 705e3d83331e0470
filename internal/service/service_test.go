package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/lease"
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

func TestTicksDuringARunAreSkipped(t *testing.T) {
	j := newJob()
	h := start(t, Settings{Workspaces: one(every(5*time.Millisecond), j.run), RunOnStart: true}, nil)
	<-j.started
	for counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_skipped_total") < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	j.release <- struct{}{}
	<-j.started // the next tick starts a run again
	close(j.release)
	h.signals <- syscall.SIGTERM
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if j.maxRun != 1 {
		t.Errorf("%d runs at once", j.maxRun)
	}
}

func TestSyncEndpoint(t *testing.T) {
	j := newJob()
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run)}, nil)
	t.Cleanup(func() { close(j.release) })
	if code := h.post("/sync"); code != http.StatusAccepted {
		t.Fatalf("POST /sync when idle: %d, want 202", code)
	}
	<-j.started
	if code := h.post("/sync"); code != http.StatusConflict {
		t.Errorf("POST /sync during a run: %d, want 409", code)
	}
	j.release <- struct{}{}
	for h.post("/sync") != http.StatusAccepted {
		time.Sleep(time.Millisecond) // until the loop has seen the run finish
	}
	if n := <-j.started; n != 2 {
		t.Errorf("run %d started, want 2", n)
	}
	var status Status
	if code := h.get("/status", &status); code != http.StatusOK || len(status.Workspaces) != 1 || status.Workspaces[0].Contacts != 7 {
		t.Errorf("/status: %d %+v", code, status)
	}
	var health map[string]string
	if code := h.get("/healthz", &health); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	resp, err := http.Get(h.url + "/sync")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // an unclosed body keeps the client's connection goroutines alive
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /sync: %d, want 405", resp.StatusCode)
	}
}

func TestRequestsFromWebPagesAreRefused(t *testing.T) {
	j := newJob()
	close(j.release)
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run)}, nil)
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		want   int
	}{
		{"curl", http.MethodPost, "/sync", nil, http.StatusAccepted},
		{"cross-site form", http.MethodPost, "/sync", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"DNS rebinding", http.MethodGet, "/status", http.Header{"Host": {"evil.example:9464"}}, http.StatusForbidden},
		{"localhost", http.MethodGet, "/status", http.Header{"Host": {"localhost:9464"}}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, h.url+tt.path, nil)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			req.Host = req.Header.Get("Host")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		})
	}
}

func TestSyncDuringShutdownIsRefused(t *testing.T) {
	j := newJob()
	j.wait = func(ctx context.Context, _ <-chan struct{}, release <-chan struct{}) error {
		<-release
		return nil
	}
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, nil)
	<-j.started
	h.signals <- syscall.SIGTERM
	for h.post("/sync") != http.StatusServiceUnavailable {
		time.Sleep(time.Millisecond)
	}
	close(j.release)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

func TestARunThatIgnoresCancellationIsLeftBehind(t *testing.T) {
	j := newJob()
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true, ShutdownTimeout: 10 * time.Millisecond}, nil, func(s *Service) {
		s.CancelGrace = 10 * time.Millisecond
	})
	t.Cleanup(func() { close(j.release) })
	<-j.started
	h.signals <- syscall.SIGTERM
	if err := h.wait(); !errors.Is(err, ErrStuck) {
		t.Fatalf("Serve: %v, want ErrStuck", err)
	}
}

func TestAPanickingRunFailsAndTheServiceGoesOn(t *testing.T) {
	j := newJob()
	j.wait = func(context.Context, <-chan struct{}, <-chan struct{}) error { panic("boom") }
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, nil)
	<-j.started
	for counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_total") < 1 {
		time.Sleep(time.Millisecond)
	}
	var body struct{ Reason string }
	if code := h.get("/readyz", &body); code != http.StatusServiceUnavailable || !strings.Contains(body.Reason, "panicked: boom") {
		t.Errorf("/readyz after a panic: %d %q", code, body.Reason)
	}
}

func TestShutdownLetsTheRunFinishItsDeliveries(t *testing.T) {
	j := newJob()
	var cancelled bool
	j.wait = func(ctx context.Context, stop <-chan struct{}, _ <-chan struct{}) error {
		<-stop
		cancelled = ctx.Err() != nil
		return engine.ErrStopped
	}
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, nil)
	<-j.started
	h.signals <- syscall.SIGTERM
	if err := h.wait(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if cancelled {
		t.Error("the run was cancelled instead of stopped")
	}
	if n := counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_total"); n != 0 {
		t.Errorf("the stopped run counted as %v finished runs, want 0", n)
	}
}

func TestShutdownTimeoutCancelsTheRun(t *testing.T) {
	j := newJob()
	j.wait = func(ctx context.Context, _ <-chan struct{}, _ <-chan struct{}) error {
		<-ctx.Done()
		return ctx.Err()
	}
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true, ShutdownTimeout: 20 * time.Millisecond}, nil)
	<-j.started
	h.signals <- syscall.SIGTERM
	if err := h.wait(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	j := newJob()
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, nil)
	defer close(j.release)
	<-j.started
	h.signals <- syscall.SIGTERM
	h.signals <- syscall.SIGINT
	if err := h.wait(); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Serve: %v, want ErrInterrupted", err)
	}
}

func TestReloadKeepsTheOldSettingsOnError(t *testing.T) {
	first, second := newJob(), newJob()
	close(first.release)
	close(second.release)
	reloads := make(chan error) // a send returns once Reload runs
	reload := func() (Settings, error) {
		if err := <-reloads; err != nil {
			return Settings{}, err
		}
		return Settings{Workspaces: one(every(time.Hour), second.run), ShutdownTimeout: time.Minute}, nil
	}
	h := start(t, Settings{Workspaces: one(every(time.Hour), first.run)}, reload)

	h.signals <- syscall.SIGHUP
	reloads <- errors.New("config.yaml:3: schedule: bad")
	for h.post("/sync") != http.StatusAccepted {
		time.Sleep(time.Millisecond)
	}
	<-first.started

	h.signals <- syscall.SIGHUP
	reloads <- nil
	for h.post("/sync") != http.StatusAccepted {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-second.started:
	case <-first.started:
		t.Fatal("the run after a good reload used the old settings")
	}
}

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	ran := func(result string, ago time.Duration) *state.Run {
		return &state.Run{FinishedAt: now.Add(-ago), Result: result, Error: "source: contacts: 503"}
	}
	twiceADay, err := cron.ParseStandard("0 9,10 * * *")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		last        *state.Run
		lastSuccess time.Duration // how long ago; 0 for never
		running     bool
		sched       cron.Schedule
		ready       bool
		reason      string
	}{
		{"nothing due yet", nil, 0, false, every(5 * time.Minute), true, "no run is due yet"},
		{"first run going", nil, 0, true, every(5 * time.Minute), false, "the first run has not finished yet"},
		{"recent success", ran(state.RunSucceeded, 14*time.Minute), 14 * time.Minute, false, every(5 * time.Minute), true, "the last successful run finished"},
		{"recent success, running again", ran(state.RunSucceeded, time.Minute), time.Minute, true, every(5 * time.Minute), true, "the last successful run finished"},
		{"stale success", ran(state.RunSucceeded, 16*time.Minute), 16 * time.Minute, false, every(5 * time.Minute), false, "3 scheduled runs have come and gone"},
		{"failure", ran(state.RunFailed, 0), time.Minute, false, every(5 * time.Minute), false, "failed: source: contacts: 503"},
		{"stopped after a recent success", ran(state.RunStopped, 0), time.Minute, false, every(5 * time.Minute), true, "the last successful run finished"},
		{"stopped, never succeeded", ran(state.RunStopped, 0), 0, false, every(5 * time.Minute), false, "no run has succeeded yet"},
		// Yesterday's 10:00 run, at 09:59: only one scheduled run passed.
		{"uneven schedule", ran(state.RunSucceeded, 24*time.Hour-time.Minute), 24*time.Hour - time.Minute, false, twiceADay, true, "the last successful run finished"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lastSuccess time.Time
			if tt.lastSuccess > 0 {
				lastSuccess = now.Add(-tt.lastSuccess)
			}
			ready, reason := readiness(now, tt.last, lastSuccess, tt.running, tt.sched, 0)
			if ready != tt.ready || !strings.Contains(reason, tt.reason) {
				t.Errorf("readiness = %v %q, want %v and %q", ready, reason, tt.ready, tt.reason)
			}
		})
	}
}

func TestReadyzEndpoint(t *testing.T) {
	j := newJob()
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, nil)
	<-j.started
	var body struct {
		Ready  bool   `json:"ready"`
		Reason string `json:"reason"`
	}
	if code := h.get("/readyz", &body); code != http.StatusServiceUnavailable || body.Ready {
		t.Errorf("during the first run: %d %+v, want 503", code, body)
	}
	j.release <- struct{}{}
	for h.get("/readyz", &body) != http.StatusOK {
		time.Sleep(time.Millisecond)
	}
}

// TestSystemdNotifications listens where systemd would and checks what
// the service tells it over a life: ready, status, watchdog, reload, stop.
func TestSystemdNotifications(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", socket)
	t.Setenv("WATCHDOG_USEC", "20000")
	messages := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(messages)
				return
			}
			messages <- string(buf[:n])
		}
	}()
	// next waits for a message, skipping watchdog pings unless asked for.
	next := func(want string) {
		t.Helper()
		for {
			select {
			case m := <-messages:
				if strings.HasPrefix(m, want) {
					return
				}
				if m != "WATCHDOG=1" && !strings.HasPrefix(m, "STATUS=") {
					t.Fatalf("got %q while waiting for %q", m, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %q", want)
			}
		}
	}

	j := newJob()
	reload := func() (Settings, error) { return Settings{}, errors.New("bad config") }
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, reload)
	next("READY=1")
	next("STATUS=Syncing")
	j.release <- struct{}{}
	next("STATUS=Last run ")
	next("WATCHDOG=1")
	h.signals <- syscall.SIGHUP
	next("RELOADING=1")
	next("READY=1")
	h.signals <- syscall.SIGTERM
	next("STOPPING=1")
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

func TestRedeliverEndpoint(t *testing.T) {
	j := newJob()
	close(j.release)
	type call struct{ sink, event string }
	calls := make(chan call, 10)
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run)}, nil, func(s *Service) {
		s.Redeliver = func(workspace, sink, event string) (int, error) {
			calls <- call{sink, event}
			switch sink {
			case "hook":
			case "broken":
				return 0, errors.New("state: decode: unexpected end of JSON input")
			default:
				return 0, fmt.Errorf("state: sink %s: %w", sink, state.ErrNotFound)
			}
			return 2, nil
		}
	})
	tests := []struct {
		path string
		want int
		call *call
	}{
		{"/sinks/hook/redeliver?all=true", http.StatusOK, &call{"hook", ""}},
		{"/sinks/hook/redeliver?event=msg_1", http.StatusOK, &call{"hook", "msg_1"}},
		{"/sinks/hook/redeliver", http.StatusBadRequest, nil},
		{"/sinks/hook/redeliver?event=msg_1&all=true", http.StatusBadRequest, nil},
		{"/sinks/nope/redeliver?all=true", http.StatusNotFound, &call{"nope", ""}},
		{"/sinks/broken/redeliver?all=true", http.StatusInternalServerError, &call{"broken", ""}},
	}
	for _, tt := range tests {
		if code := h.post(tt.path); code != tt.want {
			t.Errorf("POST %s: %d, want %d", tt.path, code, tt.want)
		}
		if tt.call != nil {
			if got := <-calls; got != *tt.call {
				t.Errorf("POST %s: Redeliver%v, want %v", tt.path, got, *tt.call)
			}
		}
	}
}

func TestWorkspacesRunOnTheirOwnSchedules(t *testing.T) {
	fast, slow := newJob(), newJob()
	close(fast.release)
	h := start(t, Settings{RunOnStart: true, Workspaces: []Workspace{
		{Name: "fast", Schedule: every(5 * time.Millisecond), Job: fast.run},
		{Name: "slow", Schedule: every(5 * time.Millisecond), Job: slow.run},
	}}, nil)
	<-slow.started
	// While slow's first run goes, fast runs again and again, and only
	// slow's ticks are skipped.
	for range 5 {
		<-fast.started
	}
	for counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_skipped_total", "slow") < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	if n := counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_skipped_total", "fast"); n != 0 {
		t.Errorf("fast skipped %v runs while slow ran", n)
	}
	if n := counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_total", "fast"); n < 4 {
		t.Errorf("fast finished %v runs, want at least 4", n)
	}
	close(slow.release)
	h.signals <- syscall.SIGTERM
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if slow.maxRun != 1 || fast.maxRun != 1 {
		t.Errorf("runs at once: slow %d, fast %d; want 1 each", slow.maxRun, fast.maxRun)
	}
}

func TestSyncEndpointStartsWorkspaces(t *testing.T) {
	a, b := newJob(), newJob()
	h := start(t, Settings{Workspaces: []Workspace{
		{Name: "a", Schedule: every(time.Hour), Job: a.run},
		{Name: "b", Schedule: every(time.Hour), Job: b.run},
	}}, nil)
	t.Cleanup(func() { close(a.release); close(b.release) })
	post := func(path string) (int, SyncAnswer) {
		t.Helper()
		resp, err := http.Post(h.url+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var answer SyncAnswer
		json.NewDecoder(resp.Body).Decode(&answer)
		return resp.StatusCode, answer
	}
	if code, answer := post("/sync?workspace=a"); code != http.StatusAccepted || fmt.Sprint(answer.Started) != "[a]" {
		t.Fatalf("POST /sync?workspace=a: %d %+v", code, answer)
	}
	<-a.started
	if code, answer := post("/sync"); code != http.StatusAccepted || fmt.Sprint(answer.Started, answer.Running) != "[b] [a]" {
		t.Errorf("POST /sync with a running: %d %+v, want b started and a running", code, answer)
	}
	<-b.started
	if code, _ := post("/sync"); code != http.StatusConflict {
		t.Errorf("POST /sync with both running: %d, want 409", code)
	}
	if code, _ := post("/sync?workspace=nope"); code != http.StatusNotFound {
		t.Errorf("POST /sync?workspace=nope: %d, want 404", code)
	}
	var status Status
	if h.get("/status", &status); len(status.Workspaces) != 2 || status.Workspaces[0].Workspace != "a" || status.Workspaces[1].Workspace != "b" {
		t.Errorf("/status: %+v, want a and b", status)
	}
}

func TestReloadAddsAndDropsWorkspaces(t *testing.T) {
	a, b := newJob(), newJob()
	close(b.release)
	reload := func() (Settings, error) {
		return Settings{RunOnStart: true, ShutdownTimeout: time.Minute, Workspaces: []Workspace{{Name: "b", Schedule: every(time.Hour), Job: b.run}}}, nil
	}
	h := start(t, Settings{RunOnStart: true, Workspaces: one(every(time.Hour), a.run)}, reload)
	<-a.started
	polling := make(chan struct{})
	defer func() { <-polling }()
	go func() { // the handlers read what the reload changes
		defer close(polling)
		for range 20 {
			var body Readiness
			h.get("/readyz", &body)
		}
	}()
	h.signals <- syscall.SIGHUP
	<-b.started // a workspace new to the service starts at once with run_on_start
	var status Status
	if h.get("/status", &status); len(status.Workspaces) != 1 || status.Workspaces[0].Workspace != "b" {
		t.Errorf("/status after the reload: %+v, want only b", status)
	}
	// The dropped workspace's run goes on to its end; then its series go.
	if seriesOf(t, h, "default") == 0 {
		t.Error("the dropped workspace's series went before its run ended")
	}
	close(a.release)
	for seriesOf(t, h, "default") > 0 {
		time.Sleep(time.Millisecond)
	}
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

func TestReadyzNamesTheWorkspaceThatIsNot(t *testing.T) {
	good, bad := newJob(), newJob()
	close(good.release)
	bad.wait = func(context.Context, <-chan struct{}, <-chan struct{}) error {
		return errors.New("source: contacts: 401")
	}
	h := start(t, Settings{RunOnStart: true, Workspaces: []Workspace{
		{Name: "good", Schedule: every(time.Hour), Job: good.run},
		{Name: "bad", Schedule: every(time.Hour), Job: bad.run},
	}}, nil)
	var body Readiness
	for h.get("/readyz", &body) != http.StatusServiceUnavailable || !strings.Contains(body.Reason, "401") {
		time.Sleep(time.Millisecond)
	}
	if !strings.HasPrefix(body.Reason, "workspace bad: ") {
		t.Errorf("reason %q does not name the workspace", body.Reason)
	}
	for !body.Workspaces["good"].Ready {
		time.Sleep(time.Millisecond)
		h.get("/readyz", &body)
	}
}

func TestShutdownStopsEveryWorkspace(t *testing.T) {
	started, stopped := make(chan string, 2), make(chan string, 2)
	job := func(name string) Job {
		return func(ctx context.Context, stop <-chan struct{}) (engine.Report, error) {
			started <- name
			<-stop
			stopped <- name
			return engine.Report{}, engine.ErrStopped
		}
	}
	h := start(t, Settings{RunOnStart: true, Workspaces: []Workspace{
		{Name: "a", Schedule: every(time.Hour), Job: job("a")},
		{Name: "b", Schedule: every(time.Hour), Job: job("b")},
	}}, nil)
	<-started
	<-started
	h.signals <- syscall.SIGTERM
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if len(stopped) != 2 {
		t.Errorf("%d runs stopped, want 2", len(stopped))
	}
}

func TestRedeliverEndpointNeedsTheWorkspaceWhenThereAreSeveral(t *testing.T) {
	j := newJob()
	close(j.release)
	calls := make(chan string, 10)
	h := start(t, Settings{Workspaces: []Workspace{
		{Name: "a", Schedule: every(time.Hour), Job: j.run},
		{Name: "b", Schedule: every(time.Hour), Job: j.run},
	}}, nil, func(s *Service) {
		s.Redeliver = func(workspace, sink, event string) (int, error) {
			calls <- workspace + "/" + sink
			return 1, nil
		}
	})
	for _, tt := range []struct {
		path string
		want int
		call string
	}{
		{"/sinks/hook/redeliver?all=true", http.StatusBadRequest, ""},
		{"/sinks/hook/redeliver?all=true&workspace=b", http.StatusOK, "b/hook"},
		{"/sinks/hook/redeliver?all=true&workspace=c", http.StatusNotFound, ""},
	} {
		if code := h.post(tt.path); code != tt.want {
			t.Errorf("POST %s: %d, want %d", tt.path, code, tt.want)
		}
		if tt.call != "" {
			if got := <-calls; got != tt.call {
				t.Errorf("POST %s: Redeliver(%s), want %s", tt.path, got, tt.call)
			}
		}
	}
}

func TestASecondSignalLeavesNoRunBehindForever(t *testing.T) {
	j := newJob()
	h := start(t, Settings{RunOnStart: true, Workspaces: []Workspace{
		{Name: "a", Schedule: every(time.Hour), Job: j.run},
		{Name: "b", Schedule: every(time.Hour), Job: j.run},
		{Name: "c", Schedule: every(time.Hour), Job: j.run},
	}}, nil)
	for range 3 {
		<-j.started
	}
	h.signals <- syscall.SIGTERM
	h.signals <- syscall.SIGINT
	if err := h.wait(); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Serve: %v, want ErrInterrupted", err)
	}
	// The runs end after Serve returned; goleak (TestMain) fails the
	// package if one of them waits forever to report.
	close(j.release)
}

// leases is a Leases the test hands workspaces out with.
type leases struct {
	mu      sync.Mutex
	held    map[string]*held
	changed chan struct{}
	busy    map[string]int
	err     error // what Err answers
}

type held struct {
	ctx       context.Context
	cancel    context.CancelFunc
	releasing bool
}

func newLeases() *leases {
	return &leases{held: map[string]*held{}, changed: make(chan struct{}, 1), busy: map[string]int{}}
}

func (f *leases) notify() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// take gives this instance the workspace.
func (f *leases) take(name string) {
	f.mu.Lock()
	ctx, cancel := context.WithCancel(context.Background())
	f.held[name] = &held{ctx: ctx, cancel: cancel}
	f.mu.Unlock()
	f.notify()
}

// lose ends the lease at once, as a missed renewal does.
func (f *leases) lose(name string) {
	f.mu.Lock()
	f.held[name].cancel()
	delete(f.held, name)
	f.mu.Unlock()
	f.notify()
}

// release starts giving the workspace back, once idle.
func (f *leases) release(name string) {
	f.mu.Lock()
	f.held[name].releasing = true
	f.mu.Unlock()
	f.notify()
}

func (f *leases) SetWorkspaces([]string) error { return nil }
func (f *leases) Changed() <-chan struct{}     { return f.changed }
func (f *leases) Instance() string             { return "test-1" }

func (f *leases) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *leases) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *leases) Leases() []lease.Lease {
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []lease.Lease
	for name, h := range f.held {
		list = append(list, lease.Lease{Workspace: name, Ctx: h.ctx, Releasing: h.releasing})
	}
	return list
}

func (f *leases) Busy(name string) (context.Context, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.held[name]
	if h == nil || h.releasing {
		return nil, false
	}
	f.busy[name]++
	return h.ctx, true
}

func (f *leases) Idle(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.busy[name]--
}

func (f *leases) Holders(context.Context) ([]lease.Holder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []lease.Holder
	for name := range f.held {
		list = append(list, lease.Holder{Workspace: name, Instance: "test-1", Live: true})
	}
	return list, nil
}

func TestLeasesDecideWhatRuns(t *testing.T) {
	a, b := newJob(), newJob()
	bStopped, bCancelled := make(chan bool, 1), make(chan bool, 1)
	b.wait = func(ctx context.Context, stop <-chan struct{}, release <-chan struct{}) error {
		select {
		case <-stop:
			bStopped <- true
			return engine.ErrStopped
		case <-ctx.Done():
			bCancelled <- true
			return ctx.Err()
		}
	}
	f := newLeases()
	h := start(t, Settings{RunOnStart: true, Workspaces: []Workspace{
		{Name: "a", Schedule: every(time.Hour), Job: a.run},
		{Name: "b", Schedule: every(time.Hour), Job: b.run},
	}}, nil, func(s *Service) { s.Leases = f })
	t.Cleanup(func() { close(a.release) })

	var ready Readiness
	if code := h.get("/readyz", &ready); code != http.StatusOK || ready.Reason != "this instance holds no workspace now" {
		t.Errorf("/readyz holding nothing: %d %+v", code, ready)
	}
	f.setErr(errors.New("lease: heartbeat: nats: timeout"))
	if code := h.get("/readyz", &ready); code != http.StatusServiceUnavailable || !strings.Contains(ready.Reason, "nats: timeout") {
		t.Errorf("/readyz holding nothing, cut off from the leases: %d %+v", code, ready)
	}
	f.setErr(nil)
	if code := h.get("/readyz", &ready); code != http.StatusOK {
		t.Errorf("/readyz once the leases work again: %d %+v", code, ready)
	}
	if code := h.post("/sync?workspace=a"); code != http.StatusConflict {
		t.Errorf("POST /sync of a workspace held elsewhere: %d, want 409", code)
	}
	f.take("a")
	<-a.started // at once, on taking it
	f.take("b")
	<-b.started
	// Cut off from the leases: not ready, whatever the runs did.
	f.setErr(errors.New("lease: heartbeat: nats: timeout"))
	if code := h.get("/readyz", &ready); code != http.StatusServiceUnavailable || !strings.Contains(ready.Reason, "nats: timeout") {
		t.Errorf("/readyz cut off from the leases: %d %+v", code, ready)
	}
	f.setErr(nil)
	var status Status
	if h.get("/status", &status); len(status.Workspaces) != 2 || len(status.Holders) != 2 || status.Instance != "test-1" {
		t.Errorf("/status: %+v", status)
	}

	// Given back: asked to stop after its deliveries in flight, then not
	// run again.
	f.release("b")
	if !<-bStopped {
		t.Fatal("b's run was not stopped")
	}
	for h.post("/sync?workspace=b") != http.StatusConflict {
		time.Sleep(time.Millisecond)
	}
	// Lost: the run's context ends at once.
	f.mu.Lock()
	delete(f.held, "b")
	f.mu.Unlock()
	f.take("b")
	<-b.started
	f.lose("b")
	if !<-bCancelled {
		t.Fatal("b's run went on after its lease was lost")
	}
	// A lost lease stops the run; it is not a failure of the workspace.
	for counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_total", "b") != 0 {
		t.Fatal("the run the lease ended counted as finished")
	}
	for {
		f.mu.Lock()
		busy := f.busy["b"]
		f.mu.Unlock()
		if busy == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
}
