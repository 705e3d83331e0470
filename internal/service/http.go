package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/state"
)

// Handler serves the service's endpoints.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics.Handler())
	mux.HandleFunc("GET /status", s.serveStatus)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.HandleFunc("POST /sync", s.serveSync)
	return mux
}

// serveStatus answers what `connect-sync status --json` prints, which
// reads it from here while the service holds the state file.
func (s *Service) serveStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Service) serveReady(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ready, reason := readiness(time.Now(), s.last, s.running, s.settings.Schedule, s.settings.Jitter)
	s.mu.Unlock()
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": ready, "reason": reason})
}

// staleAfter is how many schedule intervals the last successful run may
// be old before the service is not ready.
const staleAfter = 3

// readiness says whether the service is doing its job: the last run
// succeeded and is recent, or no run was due yet.
func readiness(now time.Time, last *state.Run, running bool, sched cron.Schedule, jitter time.Duration) (bool, string) {
	if last == nil {
		if running {
			return false, "the first run has not finished yet"
		}
		return true, "no run is due yet"
	}
	finished := last.FinishedAt.Format(time.RFC3339)
	if last.Result != "success" {
		return false, fmt.Sprintf("the last run, finished %s, failed: %s", finished, last.Error)
	}
	next := sched.Next(now)
	limit := staleAfter*sched.Next(next).Sub(next) + jitter
	if age := now.Sub(last.FinishedAt); age > limit {
		return false, fmt.Sprintf("the last run finished %s, %s ago: more than %d schedule intervals (%s)",
			finished, age.Round(time.Second), staleAfter, limit)
	}
	return true, "the last run, finished " + finished + ", succeeded"
}

func (s *Service) serveSync(w http.ResponseWriter, r *http.Request) {
	started, err := s.requestRun()
	switch {
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	case started:
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "run started"})
	default:
		writeJSON(w, http.StatusConflict, map[string]string{"error": "a run is in progress"})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
