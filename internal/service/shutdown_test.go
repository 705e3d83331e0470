package service

import (
	"context"
	"errors"
	"net/http"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/connect-sync/connect-sync/internal/engine"
)

func TestSyncDuringShutdownIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJob()
		j.wait = func(ctx context.Context, _ <-chan struct{}, release <-chan struct{}) error {
			<-release
			return nil
		}
		h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, nil)
		<-j.started
		h.signals <- syscall.SIGTERM
		synctest.Wait()
		if code := h.post("/sync"); code != http.StatusServiceUnavailable {
			t.Errorf("POST /sync during the shutdown: %d, want 503", code)
		}
		close(j.release)
		if err := h.returnsAfter(0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestShutdownLetsTheRunFinishItsDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		if err := h.returnsAfter(0); err != nil {
			t.Fatalf("Serve: %v", err)
		}
		if cancelled {
			t.Error("the run was cancelled instead of stopped")
		}
		if n := counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_total"); n != 0 {
			t.Errorf("the stopped run counted as %v finished runs, want 0", n)
		}
	})
}

func TestShutdownTimeoutCancelsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 20 * time.Second
		j := newJob()
		j.wait = func(ctx context.Context, _ <-chan struct{}, _ <-chan struct{}) error {
			<-ctx.Done()
			return ctx.Err()
		}
		h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true, ShutdownTimeout: timeout}, nil)
		<-j.started
		h.signals <- syscall.SIGTERM
		// The run ends when it is cancelled, and Serve with it.
		if err := h.returnsAfter(timeout); err != nil {
			t.Fatalf("Serve: %v", err)
		}
	})
}

func TestARunThatIgnoresCancellationIsLeftBehind(t *testing.T) {
	const timeout = 20 * time.Second
	for _, tt := range []struct {
		name        string
		cancelGrace time.Duration
		want        time.Duration // after the shutdown timeout
	}{
		{"default grace", 0, 5 * time.Second},
		{"grace set", 2 * time.Second, 2 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				j := newJob()
				h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true, ShutdownTimeout: timeout}, nil, func(s *Service) {
					s.CancelGrace = tt.cancelGrace
				})
				t.Cleanup(func() { close(j.release) })
				<-j.started
				h.signals <- syscall.SIGTERM
				if err := h.returnsAfter(timeout + tt.want); !errors.Is(err, ErrStuck) {
					t.Fatalf("Serve: %v, want ErrStuck", err)
				}
			})
		})
	}
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJob()
		h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, nil)
		defer close(j.release)
		<-j.started
		h.signals <- syscall.SIGTERM
		h.signals <- syscall.SIGINT
		if err := h.returnsAfter(0); !errors.Is(err, ErrInterrupted) {
			t.Fatalf("Serve: %v, want ErrInterrupted", err)
		}
	})
}

func TestShutdownStopsEveryWorkspace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		if err := h.returnsAfter(0); err != nil {
			t.Fatal(err)
		}
		if len(stopped) != 2 {
			t.Errorf("%d runs stopped, want 2", len(stopped))
		}
	})
}

func TestASecondSignalLeavesNoRunBehindForever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		if err := h.returnsAfter(0); !errors.Is(err, ErrInterrupted) {
			t.Fatalf("Serve: %v, want ErrInterrupted", err)
		}
		// The runs end after Serve returned; synctest.Test fails the test
		// as deadlocked if one of them waits forever to report.
		close(j.release)
	})
}
