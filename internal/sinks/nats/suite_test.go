package nats

import (
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/sinks/sinktest"
)

func TestSinkContract(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Destination {
		srv := natstest.Start(t)
		cfg := DefaultConfig()
		cfg.URLs, cfg.Timeout = []string{srv.URL}, time.Second // a server down costs the timeout
		return sinktest.Destination{
			Open: cfg.Open,
			Contents: func() []string {
				var events [][]byte
				for _, m := range natstest.Messages(t, natstest.Connect(t, srv.URL), cfg.Stream) {
					events = append(events, m.Data)
				}
				return eventtest.Replay(t, events)
			},
			Break: srv.Stop,
		}
	})
}
