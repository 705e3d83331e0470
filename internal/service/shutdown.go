package service

import (
	"cmp"
	"syscall"
	"time"
)

// shutdown stops the runs in progress, if any: first by asking them to end
// after their deliveries in flight, then, after the shutdown timeout, by
// cancelling them. A second signal returns ErrInterrupted at once.
func (l *loop) shutdown() error {
	close(l.quit)
	notify("STOPPING=1")
	if l.Leases != nil {
		// Take no more workspaces, and give each back as soon as its run
		// has ended, rather than once the last one has.
		if err := l.Leases.SetWorkspaces(nil); err != nil {
			l.Logger.Error("could not give the workspaces back", "error", err)
		}
	}
	running := l.stopRuns()
	if running == 0 {
		return nil
	}
	l.Logger.Info("letting the runs in progress finish their current deliveries", "runs", running, "timeout", l.settings.ShutdownTimeout)
	return l.waitForRuns(running)
}

// stopRuns asks every run in progress to end after its deliveries in
// flight, and returns how many there are.
func (l *loop) stopRuns() (running int) {
	for _, w := range l.workspaces {
		if w.stop != nil {
			l.stopRun(w)
			running++
		}
	}
	return running
}

// waitForRuns waits for that many runs to end. After the shutdown timeout
// it cancels them, and gives up on them if they have not ended a
// CancelGrace later.
func (l *loop) waitForRuns(running int) error {
	deadline := time.NewTimer(l.settings.ShutdownTimeout)
	defer deadline.Stop()
	var gaveUp <-chan time.Time
	for running > 0 {
		select {
		case r := <-l.done:
			l.finished(r)
			running--
		case <-deadline.C:
			l.Logger.Warn("the runs did not stop within shutdown_timeout: cancelling them")
			l.cancel()
			gaveUp = time.After(cmp.Or(l.CancelGrace, defaultCancelGrace))
		case <-gaveUp:
			return ErrStuck
		case <-l.watchdog:
			notify("WATCHDOG=1")
		case sig := <-l.signals:
			if sig != syscall.SIGHUP {
				return ErrInterrupted
			}
		}
	}
	return nil
}

// stopRun asks w's run, if one goes, to end after its deliveries in
// flight.
func (l *loop) stopRun(w *workspace) {
	if w.stop == nil {
		return
	}
	select {
	case <-w.stop: // asked already
	default:
		close(w.stop)
	}
}

// shuttingDown reports whether shutdown has begun: no run starts then,
// since Serve would not wait for it.
func (l *loop) shuttingDown() bool {
	select {
	case <-l.quit:
		return true
	default:
		return false
	}
}
