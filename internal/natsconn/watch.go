package natsconn

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StopWatcher stops a key-value watch that may not have been read to the
// end. Stopping alone could leave the watch's callback blocked for good on
// its full channel, so StopWatcher drains the channel until the stopped
// subscription closes it, or nothing comes for a second: a subscription
// closed before the watcher had set its closed handler never closes the
// channel, and its callback has returned.
func StopWatcher(w jetstream.KeyWatcher) {
	_ = w.Stop()
	quiet := time.NewTimer(time.Second)
	defer quiet.Stop()
	for {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				return
			}
			quiet.Reset(time.Second)
		case <-quiet.C:
			return
		}
	}
}
