package service

import (
	"errors"
	"net/http"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/robfig/cron/v3"
)

func TestAScheduleFiresOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sched, err := cron.ParseStandard("@every 1m")
		if err != nil {
			t.Fatal(err)
		}
		j := newJob()
		close(j.release)
		begin := time.Now()
		start(t, Settings{Workspaces: one(sched, j.run)}, nil)
		for i := 1; i <= 3; i++ {
			<-j.started
			if got, want := time.Since(begin), time.Duration(i)*time.Minute; got != want {
				t.Errorf("run %d started after %v, want %v", i, got, want)
			}
		}
	})
}

func TestJitterStaysWithinItsBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval, jitter = time.Minute, 30 * time.Second
		j := newJob()
		close(j.release)
		last := time.Now()
		start(t, Settings{Workspaces: one(every(interval), j.run), Jitter: jitter}, nil)
		jittered := false
		for i := 1; i <= 20; i++ {
			<-j.started
			// Each run is scheduled from when the one before was due.
			delay := time.Since(last) - interval
			if delay < 0 || delay >= jitter {
				t.Errorf("run %d started %v after its schedule, want within [0, %v)", i, delay, jitter)
			}
			jittered = jittered || delay > 0
			last = time.Now()
		}
		if !jittered {
			t.Error("20 runs started on their schedule to the nanosecond: no jitter")
		}
	})
}

func TestTicksDuringARunAreSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJob()
		begin := time.Now()
		h := start(t, Settings{Workspaces: one(every(time.Minute), j.run), RunOnStart: true}, nil)
		<-j.started
		skipped := func() float64 {
			return counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_skipped_total")
		}
		// The first run goes on while the ticks at 1, 2 and 3 minutes pass.
		time.Sleep(3*time.Minute - time.Nanosecond)
		synctest.Wait()
		if n := skipped(); n != 2 {
			t.Errorf("%v runs skipped before the third tick, want 2", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n := skipped(); n != 3 {
			t.Errorf("%v runs skipped at the third tick, want 3", n)
		}
		j.release <- struct{}{}
		<-j.started // the next tick starts a run again
		if got := time.Since(begin); got != 4*time.Minute {
			t.Errorf("the second run started after %v, want 4m0s", got)
		}
		close(j.release)
		h.signals <- syscall.SIGTERM
		if err := h.returnsAfter(0); err != nil {
			t.Fatal(err)
		}
		if j.maxRun != 1 {
			t.Errorf("%d runs at once", j.maxRun)
		}
	})
}

func TestWorkspacesRunOnTheirOwnSchedules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fast, slow := newJob(), newJob()
		close(fast.release)
		begin := time.Now()
		h := start(t, Settings{RunOnStart: true, Workspaces: []Workspace{
			{Name: "fast", Schedule: every(time.Minute), Job: fast.run},
			{Name: "slow", Schedule: every(2 * time.Minute), Job: slow.run},
		}}, nil)
		<-slow.started
		// While slow's first run goes, fast runs on each of its ticks, and
		// only slow's ticks, at 2 and 4 minutes, are skipped.
		for i := range 6 {
			<-fast.started
			if got, want := time.Since(begin), time.Duration(i)*time.Minute; got != want {
				t.Errorf("fast's run %d started after %v, want %v", i+1, got, want)
			}
		}
		synctest.Wait()
		g := h.svc.Metrics.Gatherer()
		if n := counter(t, g, "connect_sync_runs_skipped_total", "slow"); n != 2 {
			t.Errorf("slow skipped %v runs in 5 minutes, want 2", n)
		}
		if n := counter(t, g, "connect_sync_runs_skipped_total", "fast"); n != 0 {
			t.Errorf("fast skipped %v runs while slow ran", n)
		}
		if n := counter(t, g, "connect_sync_runs_total", "fast"); n != 6 {
			t.Errorf("fast finished %v runs, want 6", n)
		}
		close(slow.release)
		h.signals <- syscall.SIGTERM
		if err := h.returnsAfter(0); err != nil {
			t.Fatal(err)
		}
		if slow.maxRun != 1 || fast.maxRun != 1 {
			t.Errorf("runs at once: slow %d, fast %d; want 1 each", slow.maxRun, fast.maxRun)
		}
	})
}

func TestReloadKeepsTheOldSettingsOnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		synctest.Wait()
		if code := h.post("/sync"); code != http.StatusAccepted {
			t.Fatalf("POST /sync after a bad reload: %d, want 202", code)
		}
		<-first.started

		h.signals <- syscall.SIGHUP
		reloads <- nil
		synctest.Wait()
		if code := h.post("/sync"); code != http.StatusAccepted {
			t.Fatalf("POST /sync after a good reload: %d, want 202", code)
		}
		select {
		case <-second.started:
		case <-first.started:
			t.Fatal("the run after a good reload used the old settings")
		}
	})
}

func TestReloadAddsAndDropsWorkspaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		synctest.Wait()
		if seriesOf(t, h, "default") == 0 {
			t.Error("the dropped workspace's series went before its run ended")
		}
		close(a.release)
		synctest.Wait()
		if n := seriesOf(t, h, "default"); n != 0 {
			t.Errorf("the dropped workspace has %d series left after its run ended", n)
		}
	})
}
