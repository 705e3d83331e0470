package service

import (
	"context"
	"time"
)

// leasesChanged takes up the workspaces whose lease this service took,
// each with a run at once (one taken over from a dead instance may have
// waited a TTL already), and lets go of those it lost or gives back: a
// lost lease has ended its run's context already, and a run of one being
// given back is asked to stop after its deliveries in flight, as for a
// shutdown, so that the other instance takes over soon.
func (l *loop) leasesChanged(now time.Time) {
	held := map[string]bool{}
	for _, ls := range l.Leases.Leases() {
		held[ls.Workspace] = !ls.Releasing
	}
	for _, w := range l.workspaces {
		switch mine := held[w.Name]; {
		case mine && !w.held:
			l.setHeld(w, true)
			w.logger.Info("took the workspace's lease")
			w.next = l.nextRun(w, l.settings.Jitter, now)
			switch {
			case w.removed:
			case w.stop == nil:
				l.start(w)
			default: // the run of an earlier hold is still ending
				w.startAgain = true
			}
		case !mine && w.held:
			l.setHeld(w, false)
			if _, givingBack := held[w.Name]; givingBack {
				w.logger.Info("giving the workspace's lease back")
				l.stopRun(w)
			} else {
				w.logger.Warn("lost the workspace's lease") // its run's context has ended
			}
		}
	}
}

func (l *loop) setHeld(w *workspace, held bool) {
	l.mu.Lock()
	w.held = held
	l.mu.Unlock()
}

// runContext is the context a run of w must use and the function to call
// when the run has ended. With leases the run ends at once with the lease
// (or the service), and the lease is not given back while the run goes;
// ok is false when the lease has just ended.
func (l *loop) runContext(w *workspace) (ctx context.Context, idle func(), ok bool) {
	if l.Leases == nil {
		return l.ctx, func() {}, true
	}
	leaseCtx, ok := l.Leases.Busy(w.Name)
	if !ok {
		return nil, nil, false
	}
	ctx, cancel := context.WithCancelCause(l.ctx)
	stopWithLease := context.AfterFunc(leaseCtx, func() { cancel(ErrLeaseLost) })
	idle = func() {
		stopWithLease()
		cancel(nil)
		l.Leases.Idle(w.Name)
	}
	return ctx, idle, true
}

// shareOut tells the leases which workspaces there are to share out among
// the instances.
func (l *loop) shareOut(workspaces []Workspace) {
	if l.Leases == nil {
		return
	}
	names := make([]string, len(workspaces))
	for i, ws := range workspaces {
		names[i] = ws.Name
	}
	if err := l.Leases.SetWorkspaces(names); err != nil {
		l.Logger.Error("could not share the workspaces out", "error", err)
	}
}
