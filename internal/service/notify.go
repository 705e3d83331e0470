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

// watchdogInterval is the unit's WatchdogSec, 0 when it has none.
func watchdogInterval() (time.Duration, error) {
	return daemon.SdWatchdogEnabled(false)
}
