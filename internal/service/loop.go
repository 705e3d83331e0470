package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"syscall"
	"time"
)

// loop is the state of one Serve: its single goroutine owns it.
type loop struct {
	*Service
	signals  <-chan os.Signal
	ctx      context.Context // cancelled to end the runs at once
	cancel   context.CancelFunc
	done     chan result
	served   chan struct{}    // closed when Serve returns: runs left behind report to nobody
	watchdog <-chan time.Time // nil without a watchdog
}

func (l *loop) run() error {
	next := time.NewTimer(l.untilNext())
	defer next.Stop()
	notify("READY=1")
	if l.settings.RunOnStart {
		for _, w := range l.workspaces {
			l.start(w)
		}
	}
	var leases <-chan struct{} // nil, never ready, without leases
	if l.Leases != nil {
		leases = l.Leases.Changed()
	}
	for {
		select {
		case <-next.C:
			l.due(time.Now())
			next.Reset(l.untilNext())
		case <-leases:
			l.leasesChanged(time.Now())
			next.Reset(l.untilNext())
		case req := <-l.requests:
			req.reply <- l.requested(req.name)
		case r := <-l.done:
			l.finished(r)
		case <-l.watchdog:
			notify("WATCHDOG=1")
		case sig := <-l.signals:
			if sig == syscall.SIGHUP {
				l.reload()
				next.Reset(l.untilNext())
				continue
			}
			l.Logger.Info("stopping", "signal", sig.String())
			return l.shutdown()
		}
	}
}

// apply makes settings the service's and returns the workspaces new to it:
// they are scheduled, those it keeps get their new schedule and job, and
// those gone from it are dropped, or dropped when their run ends.
func (l *loop) apply(settings Settings) (added []*workspace) {
	now := time.Now()
	var kept []*workspace
	for _, ws := range settings.Workspaces {
		w := l.workspace(ws.Name)
		if w == nil {
			w = l.newWorkspace(ws, settings.RunOnStart)
			added = append(added, w)
		}
		l.mu.Lock()
		w.Workspace, w.removed = ws, false
		l.mu.Unlock()
		w.next = l.nextRun(w, settings.Jitter, now)
		kept = append(kept, w)
	}
	var leaving []*workspace
	for _, w := range l.workspaces {
		if !slices.Contains(kept, w) && w.stop != nil {
			leaving = append(leaving, w)
		}
	}
	l.mu.Lock()
	for _, w := range leaving {
		w.removed = true
	}
	l.settings, l.workspaces = settings, append(kept, leaving...)
	l.mu.Unlock()
	l.retainMetrics()
	l.shareOut(settings.Workspaces)
	return added
}

// newWorkspace is a workspace new to the service, its readiness and gauges
// started from its state if it is this service's to run.
func (l *loop) newWorkspace(ws Workspace, runOnStart bool) *workspace {
	w := &workspace{
		Workspace: ws,
		metrics:   l.Metrics.Workspace(ws.Name),
		logger:    l.Logger.With("workspace", ws.Name),
		running:   runOnStart, // so /readyz does not call it ready before its first run
		held:      l.Leases == nil,
	}
	if w.held {
		l.readState(w)
	}
	return w
}

// drop forgets a workspace the config no longer has, once its run has
// ended.
func (l *loop) drop(w *workspace) {
	l.mu.Lock()
	l.workspaces = slices.DeleteFunc(l.workspaces, func(o *workspace) bool { return o == w })
	l.mu.Unlock()
	l.retainMetrics()
}

// retainMetrics drops the series of workspaces the service no longer has.
func (l *loop) retainMetrics() {
	names := make([]string, len(l.workspaces))
	for i, w := range l.workspaces {
		names[i] = w.Name
	}
	l.Metrics.Retain(names)
}

// due starts every workspace whose scheduled time has come, or counts its
// run as skipped while the previous one still goes.
func (l *loop) due(now time.Time) {
	for _, w := range l.workspaces {
		if w.removed || !w.held || w.next.After(now) {
			continue // untilNext does not count these
		}
		if w.stop != nil {
			w.logger.Warn("scheduled run skipped: the previous run is still going")
			w.metrics.RunSkipped()
		} else {
			l.start(w)
		}
		w.next = l.nextRun(w, l.settings.Jitter, now)
	}
}

// nextRun is a workspace's next scheduled run after now, jitter included.
func (l *loop) nextRun(w *workspace, jitter time.Duration, now time.Time) time.Time {
	next := w.Schedule.Next(now)
	if jitter > 0 {
		next = next.Add(rand.N(jitter))
	}
	return next
}

// untilNext is how long until the next scheduled run of any workspace.
func (l *loop) untilNext() time.Duration {
	first := time.Now().Add(24 * time.Hour) // none is scheduled: a reload may bring one
	for _, w := range l.workspaces {
		if !w.removed && w.held && w.next.Before(first) {
			first = w.next
		}
	}
	return max(time.Until(first), 0)
}

// requested starts what POST /sync asked for: one workspace or all.
func (l *loop) requested(name string) syncReply {
	var reply syncReply
	for _, w := range l.workspaces {
		switch {
		case w.removed || (name != "" && w.Name != name):
		case !w.held:
			reply.elsewhere = append(reply.elsewhere, w.Name)
		case w.stop != nil:
			reply.running = append(reply.running, w.Name)
		case l.start(w):
			reply.started = append(reply.started, w.Name)
		default: // its lease just ended, and leasesChanged will say so
			reply.elsewhere = append(reply.elsewhere, w.Name)
		}
	}
	if reply.started == nil && reply.running == nil && reply.elsewhere == nil {
		reply.err = fmt.Errorf("%w: %q", errNoWorkspace, name)
	}
	return reply
}

// reload swaps in new settings, or keeps the old ones if they are bad.
func (l *loop) reload() {
	notify("RELOADING=1")
	defer notify("READY=1")
	settings, err := l.Reload()
	if err != nil {
		l.Logger.Error("config reload failed: keeping the config in use", "error", err)
		return
	}
	added := l.apply(settings)
	l.Logger.Info("config reloaded: it applies from the next run of each workspace", "workspaces", len(settings.Workspaces), "new", len(added))
	if settings.RunOnStart {
		for _, w := range added {
			l.start(w)
		}
	}
}

// syncRequest is POST /sync: start a run of the named workspace, or of
// every one when name is empty.
type syncRequest struct {
	name  string
	reply chan syncReply
}

type syncReply struct {
	started, running []string
	elsewhere        []string // held by another instance
	err              error
}

// requestRun asks the loop to start runs now, as POST /sync does.
func (s *Service) requestRun(name string) (syncReply, error) {
	reply := make(chan syncReply, 1)
	select {
	case s.requests <- syncRequest{name: name, reply: reply}:
		r := <-reply
		return r, r.err
	case <-s.quit:
		return syncReply{}, errShuttingDown
	}
}
