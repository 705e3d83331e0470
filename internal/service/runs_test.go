package service

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

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
