package service

import "time"

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
