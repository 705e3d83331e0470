package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/lease"
	"github.com/connect-sync/connect-sync/internal/state"
)

// handler serves the service's endpoints on a listener at addr.
func (s *Service) handler(addr net.Addr) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics.Handler())
	mux.HandleFunc("GET /status", s.serveStatus)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.HandleFunc("POST /sync", s.serveSync)
	mux.HandleFunc("POST /sinks/{sink}/redeliver", s.serveRedeliver)
	return refuseBrowsers(newHostRules(addr, s.HTTP.AllowedHosts), mux)
}

// refuseBrowsers turns away what only a browser misled by some web page
// sends: a Host header that is not one of the listener's names (DNS
// rebinding, to read /status), and a POST carrying an Origin header (a
// cross-site form or fetch starting a run). curl, Prometheus and probes
// send neither.
func refuseBrowsers(hosts hostRules, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !hosts.allows(r.Host):
			// 421: this server does not answer for that name, which is
			// what a proxy in front, or the operator, needs to know.
			writeJSON(w, http.StatusMisdirectedRequest, map[string]string{
				"error": fmt.Sprintf("Host %q is not a name of this listener: if connect-sync is reached by it, add it to http.allowed_hosts", r.Host),
			})
		case r.Method != http.MethodGet && r.Header.Get("Origin") != "":
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "requests from web pages are refused"})
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// Status is what /status answers and `connect-sync status --json` prints:
// the state of every workspace this instance runs, in the config's order,
// and, with a shared state backend, which instance holds which workspace.
type Status struct {
	Workspaces []state.Status `json:"workspaces"`
	// Instance is this instance's name among those sharing the state.
	Instance string         `json:"instance,omitempty"`
	Holders  []lease.Holder `json:"holders,omitempty"`
}

// serveStatus answers what `connect-sync status --json` prints, which
// reads it from here while the service holds the state file.
func (s *Service) serveStatus(w http.ResponseWriter, r *http.Request) {
	var st Status
	if s.Leases != nil {
		holders, err := s.Leases.Holders(r.Context())
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprintf("leases: %v", err)})
			return
		}
		st.Instance, st.Holders = s.Leases.Instance(), holders
	}
	for _, name := range s.names(true) {
		ws, err := s.Status(r.Context(), name)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": fmt.Sprintf("workspace %s: %v", name, err)})
			return
		}
		st.Workspaces = append(st.Workspaces, ws)
	}
	writeJSON(w, http.StatusOK, st)
}

// names returns the configured workspaces' names, or only those this
// instance holds.
func (s *Service) names(held bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, w := range s.workspaces {
		if !w.removed && (w.held || !held) {
			names = append(names, w.Name)
		}
	}
	return names
}

// Readiness is what /readyz answers: ready when every workspace is.
type Readiness struct {
	Ready      bool                      `json:"ready"`
	Reason     string                    `json:"reason"` // the first workspace's that is not ready, or why all are
	Workspaces map[string]WorkspaceReady `json:"workspaces"`
}

// WorkspaceReady is one workspace's part of Readiness.
type WorkspaceReady struct {
	Ready  bool   `json:"ready"`
	Reason string `json:"reason"`
}

func (s *Service) serveReady(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	answer := Readiness{Ready: true, Reason: "this instance holds no workspace now", Workspaces: map[string]WorkspaceReady{}}
	several := len(s.names(false)) > 1
	s.mu.Lock()
	for _, ws := range s.workspaces {
		if ws.removed || !ws.held {
			continue // another instance's to run
		}
		ready, reason := readiness(now, ws.last, ws.lastSuccess, ws.running, ws.Schedule, s.settings.Jitter)
		answer.Workspaces[ws.Name] = WorkspaceReady{Ready: ready, Reason: reason}
		if several {
			reason = "workspace " + ws.Name + ": " + reason
		}
		if answer.Ready && !ready || len(answer.Workspaces) == 1 {
			answer.Reason = reason
		}
		answer.Ready = answer.Ready && ready
	}
	s.mu.Unlock()
	// An instance cut off from the leases holds nothing soon, and would
	// say it is ready for want of a workspace to be unready about.
	if s.Leases != nil {
		if err := s.Leases.Err(); err != nil {
			answer.Ready, answer.Reason = false, "this instance takes no lease now: "+err.Error()
		}
	}
	code := http.StatusOK
	if !answer.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, answer)
}

// staleAfter is how many scheduled runs may pass after the last
// successful one before the service is not ready.
const staleAfter = 3

// readiness says whether a workspace is doing its job: the last run did
// not fail, and no more than staleAfter scheduled runs came and went since
// the last success; or no run was due yet. A run stopped by a shutdown is
// not a failure.
func readiness(now time.Time, last *state.Run, lastSuccess time.Time, running bool, sched cron.Schedule, jitter time.Duration) (bool, string) {
	switch {
	case last == nil && running:
		return false, "the first run has not finished yet"
	case last == nil:
		return true, "no run is due yet"
	case last.Result == state.RunFailed:
		return false, fmt.Sprintf("the last run, finished %s, failed: %s", last.FinishedAt.Format(time.RFC3339), last.Error)
	case lastSuccess.IsZero():
		return false, "no run has succeeded yet"
	}
	deadline := lastSuccess
	for range staleAfter {
		deadline = sched.Next(deadline)
	}
	success := lastSuccess.Format(time.RFC3339)
	if now.After(deadline.Add(jitter)) {
		return false, fmt.Sprintf("the last successful run finished %s, and %d scheduled runs have come and gone since", success, staleAfter)
	}
	return true, "the last successful run finished " + success
}

// SyncAnswer is what POST /sync answers: the workspaces it started, those
// it did not because a run of theirs was still going, and those another
// instance holds.
type SyncAnswer struct {
	Started   []string `json:"started"`
	Running   []string `json:"running,omitempty"`
	Elsewhere []string `json:"elsewhere,omitempty"`
}

// serveSync starts a run of every workspace, or of ?workspace=NAME.
func (s *Service) serveSync(w http.ResponseWriter, r *http.Request) {
	reply, err := s.requestRun(r.URL.Query().Get("workspace"))
	switch {
	case errors.Is(err, errNoWorkspace):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	case len(reply.started) == 0 && len(reply.running) == 0:
		writeJSON(w, http.StatusConflict, map[string]any{"error": "another instance holds it", "elsewhere": reply.elsewhere})
	case len(reply.started) == 0:
		writeJSON(w, http.StatusConflict, map[string]any{"error": "a run is in progress", "running": reply.running})
	default:
		writeJSON(w, http.StatusAccepted, SyncAnswer{Started: reply.started, Running: reply.running, Elsewhere: reply.elsewhere})
	}
}

// serveRedeliver is `connect-sync redeliver` while the service holds the
// state file: ?event=ID for one dead letter, ?all=true for every one, and
// ?workspace=NAME unless there is only one.
func (s *Service) serveRedeliver(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	event, all := q.Get("event"), q.Get("all") == "true"
	if (event == "") == !all {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "give event=ID or all=true"})
		return
	}
	workspace := q.Get("workspace")
	names := s.names(false)
	switch {
	case workspace == "" && len(names) == 1:
		workspace = names[0]
	case workspace == "":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "give workspace=NAME: there are several"})
		return
	case !slices.Contains(names, workspace):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("%s: %q", errNoWorkspace, workspace)})
		return
	case !slices.Contains(s.names(true), workspace):
		writeJSON(w, http.StatusConflict, map[string]string{"error": fmt.Sprintf("another instance holds workspace %q: ask it", workspace)})
		return
	}
	n, err := s.Redeliver(r.Context(), workspace, r.PathValue("sink"), event)
	switch {
	case errors.Is(err, state.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"requeued": n})
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
