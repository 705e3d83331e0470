package service

import (
	"context"
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
