package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/state"
)

func TestSyncEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		synctest.Wait() // the loop has seen the run finish
		if code := h.post("/sync"); code != http.StatusAccepted {
			t.Errorf("POST /sync once the run finished: %d, want 202", code)
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
		if code := h.do(http.MethodGet, "/sync").Code; code != http.StatusMethodNotAllowed {
			t.Errorf("GET /sync: %d, want 405", code)
		}
	})
}

// TestRequestsFromWebPagesAreRefused runs in real time, outside a synctest
// bubble, through a real loopback listener: it is the test of Serve's own
// listener, whose address turns the Host check on, and network I/O does
// not block durably in a bubble.
func TestRequestsFromWebPagesAreRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	j := newJob()
	close(j.release)
	svc := newService(nil)
	signals, exited := make(chan os.Signal, 1), make(chan error, 1)
	go func() {
		exited <- svc.Serve(Settings{Workspaces: one(every(time.Hour), j.run), ShutdownTimeout: time.Minute}, signals, ln)
	}()
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		// The client may hold a connection it dialled but never used,
		// which a graceful shutdown would wait for.
		client.CloseIdleConnections()
		signals <- syscall.SIGTERM
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		want   int
	}{
		{"curl", http.MethodPost, "/sync", nil, http.StatusAccepted},
		{"cross-site form", http.MethodPost, "/sync", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"DNS rebinding", http.MethodGet, "/status", http.Header{"Host": {"evil.example:9464"}}, http.StatusMisdirectedRequest},
		{"localhost", http.MethodGet, "/status", http.Header{"Host": {"localhost:9464"}}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://"+ln.Addr().String()+tt.path, nil)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			req.Host = req.Header.Get("Host")
			resp, err := client.Do(req)
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
	synctest.Test(t, func(t *testing.T) {
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
		synctest.Wait()
		if code := h.get("/readyz", &body); code != http.StatusOK || !body.Ready {
			t.Errorf("once the first run finished: %d %+v, want 200", code, body)
		}
	})
}

func TestReadyzNamesTheWorkspaceThatIsNot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		if code := h.get("/readyz", &body); code != http.StatusServiceUnavailable || !strings.Contains(body.Reason, "401") {
			t.Errorf("/readyz once both runs finished: %d %q, want 503 and the 401", code, body.Reason)
		}
		if !strings.HasPrefix(body.Reason, "workspace bad: ") {
			t.Errorf("reason %q does not name the workspace", body.Reason)
		}
		if !body.Workspaces["good"].Ready {
			t.Errorf("good is not ready: %+v", body.Workspaces["good"])
		}
	})
}

func TestSyncEndpointStartsWorkspaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newJob(), newJob()
		h := start(t, Settings{Workspaces: []Workspace{
			{Name: "a", Schedule: every(time.Hour), Job: a.run},
			{Name: "b", Schedule: every(time.Hour), Job: b.run},
		}}, nil)
		t.Cleanup(func() { close(a.release); close(b.release) })
		post := func(path string) (int, SyncAnswer) {
			t.Helper()
			rec := h.do(http.MethodPost, path)
			var answer SyncAnswer
			json.NewDecoder(rec.Body).Decode(&answer)
			return rec.Code, answer
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
	})
}

func TestRedeliverEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJob()
		close(j.release)
		type call struct{ sink, event string }
		calls := make(chan call, 10)
		h := start(t, Settings{Workspaces: one(every(time.Hour), j.run)}, nil, func(s *Service) {
			s.Redeliver = func(_ context.Context, workspace, sink, event string) (int, error) {
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
	})
}

func TestRedeliverEndpointNeedsTheWorkspaceWhenThereAreSeveral(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJob()
		close(j.release)
		calls := make(chan string, 10)
		h := start(t, Settings{Workspaces: []Workspace{
			{Name: "a", Schedule: every(time.Hour), Job: j.run},
			{Name: "b", Schedule: every(time.Hour), Job: j.run},
		}}, nil, func(s *Service) {
			s.Redeliver = func(_ context.Context, workspace, sink, event string) (int, error) {
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
	})
}
