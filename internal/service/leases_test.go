package service

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/lease"
)

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
	synctest.Test(t, func(t *testing.T) {
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
		synctest.Wait()
		if code := h.post("/sync?workspace=b"); code != http.StatusConflict {
			t.Errorf("POST /sync of a workspace given back: %d, want 409", code)
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
		synctest.Wait()
		// A lost lease stops the run; it is not a failure of the workspace.
		if n := counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_total", "b"); n != 0 {
			t.Errorf("the run the lease ended counted as %v finished runs, want 0", n)
		}
		f.mu.Lock()
		busy := f.busy["b"]
		f.mu.Unlock()
		if busy != 0 {
			t.Errorf("b is still busy after its run ended: %d", busy)
		}
	})
}

// A workspace taken again while the run of its earlier hold ends is run
// again once that run ends, but not once the service is shutting down: a
// run started then would be one Serve does not wait for.
func TestNoRunStartsAgainDuringShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newJob()
		a.wait = func(_ context.Context, _ <-chan struct{}, release <-chan struct{}) error {
			<-release // a run that takes its time to stop
			return engine.ErrStopped
		}
		f := newLeases()
		h := start(t, Settings{RunOnStart: true, Workspaces: []Workspace{
			{Name: "a", Schedule: every(time.Hour), Job: a.run},
		}}, nil, func(s *Service) { s.Leases = f })
		f.take("a")
		<-a.started
		f.release("a")
		synctest.Wait()
		f.mu.Lock()
		delete(f.held, "a")
		f.mu.Unlock()
		f.take("a") // while the run of the earlier hold still ends
		synctest.Wait()
		h.signals <- syscall.SIGTERM
		synctest.Wait()
		close(a.release)
		if !h.returned() {
			t.Fatal("Serve did not return once the run ended")
		}
		select {
		case n := <-a.started:
			t.Errorf("run %d started during the shutdown", n)
		default:
		}
	})
}
