package service

import (
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"
)

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
