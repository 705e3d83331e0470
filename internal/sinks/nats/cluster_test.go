package nats

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// runsUntilDelivered delivers batch as the engine would over successive
// runs: each run opens the sink anew and offers the changes still
// undelivered, until none is left. Only ErrUnavailable is expected on the
// way (a stream without a leader for a moment); the runs are bounded.
func runsUntilDelivered(t *testing.T, urls []string, batch []contact.Change) int {
	t.Helper()
	left := batch
	for run := 1; run <= 30; run++ {
		s, _ := open(t, urls, func(c *Config) { c.Replicas, c.Timeout = 3, 2*time.Second })
		var failed []contact.Change
		var last error
		for i, err := range s.Deliver(t.Context(), left) {
			if err == nil {
				continue
			}
			if !errors.Is(err, sinks.ErrUnavailable) {
				t.Fatalf("run %d: %s: %v", run, left[i].ID, err)
			}
			failed, last = append(failed, left[i]), err
		}
		s.Close()
		if len(failed) == 0 {
			return run
		}
		t.Logf("run %d: %d changes stay queued: %v", run, len(failed), last)
		left = failed
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%d changes still undelivered after 30 runs", len(left))
	return 0
}

// A stream with replicas: 3 on a three-node cluster is created with three
// replicas, and publishing goes on while its leader is down and after it
// is back, each change stored exactly once.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a three-node cluster losing its stream leader; runs without -short")
	}
	cluster := natstest.StartCluster(t)
	urls := cluster.URLs()
	batch := eventtest.Changes(t, 90, contact.Created, contact.Updated, contact.Deleted)
	runsUntilDelivered(t, urls, batch[:30])

	js := natstest.Connect(t, urls...)
	stream, err := js.Stream(t.Context(), "CONNECT")
	if err != nil {
		t.Fatal(err)
	}
	info := stream.CachedInfo()
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream replicas: config %d, cluster %+v; want 3", info.Config.Replicas, info.Cluster)
	}
	i := slices.IndexFunc(cluster.Nodes, func(s *natstest.Server) bool { return s.Name == info.Cluster.Leader })
	if i < 0 {
		t.Fatalf("leader %q is none of the nodes", info.Cluster.Leader)
	}
	leader := cluster.Nodes[i]

	leader.Stop()
	t.Logf("stream leader %s stopped: %d runs", leader.Name, runsUntilDelivered(t, urls, batch[30:60]))
	leader.Restart(t)
	t.Logf("%s restarted: %d runs", leader.Name, runsUntilDelivered(t, urls, batch[60:]))

	assertStream(t, natstest.Messages(t, js, "CONNECT"), "connect.default.contact.", batch)
}
