package service

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestAPanickingRunFailsAndTheServiceGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := newJob()
		j.wait = func(context.Context, <-chan struct{}, <-chan struct{}) error { panic("boom") }
		h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, nil)
		<-j.started
		if n := counter(t, h.svc.Metrics.Gatherer(), "connect_sync_runs_total"); n != 1 {
			t.Errorf("%v finished runs after the panic, want 1", n)
		}
		var body struct{ Reason string }
		if code := h.get("/readyz", &body); code != http.StatusServiceUnavailable || !strings.Contains(body.Reason, "panicked: boom") {
			t.Errorf("/readyz after a panic: %d %q", code, body.Reason)
		}
		if code := h.post("/sync"); code != http.StatusAccepted {
			t.Errorf("POST /sync after a panic: %d, want 202", code)
		}
		<-j.started
	})
}

// TestFailedRunStatusIsEscaped checks the status systemctl shows for a
// run whose error quotes a hostile server: its first line, escaped.
func TestFailedRunStatusIsEscaped(t *testing.T) {
	finished := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ws := &workspace{logger: slog.New(slog.DiscardHandler)}
	err := errors.New("the Connect API answered 500: Zoë \x1b]0;pwned\x07\u009b\u202e\nsecond line")
	run, status := outcome(result{ws: ws, finished: finished, err: err})
	if run.Error != err.Error() {
		t.Errorf("recorded error %q, want it as it is", run.Error)
	}
	want := `Last run 12:00:00 failed: the Connect API answered 500: Zoë \x1b]0;pwned\a\u009b\u202e`
	if status != want {
		t.Errorf("status %q\nwant %q", status, want)
	}
}
