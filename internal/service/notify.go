package service

import (
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notify sends a state to systemd through $NOTIFY_SOCKET; without one
// (not under a Type=notify unit) it does nothing.
func notify(state string) {
	daemon.SdNotify(false, state)
}

// startWatchdog pings systemd's watchdog at half its interval when the
// unit has WatchdogSec set, from its own goroutine so that a long run does
// not look like a hang. The returned func stops it.
func (s *Service) startWatchdog() (stop func()) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		s.Logger.Warn("ignoring the watchdog settings", "error", err)
	}
	if interval <= 0 {
		return func() {}
	}
	ticker := time.NewTicker(interval / 2)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ticker.C:
				notify("WATCHDOG=1")
			case <-done:
				return
			}
		}
	}()
	return func() {
		ticker.Stop()
		close(done)
	}
}
