package lease

import (
	"slices"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/natstest"
)

// On a three-node cluster with a bucket of three replicas, killing the
// bucket's stream leader neither leaves a workspace with two holders nor
// for long with none: leases are renewed through the new leader, or lost
// at their deadline and taken again.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a three-node cluster losing its leader; runs without -short")
	}
	t.Parallel()
	cluster := natstest.StartCluster(t)
	urls := cluster.URLs()
	names := workspaces(10)
	log := newLogs(t)
	start := time.Now()
	var nodes []*node
	for _, id := range []string{"a", "b", "c"} {
		nodes = append(nodes, startNode(t, urls, Options{Instance: id, Logger: log, Replicas: 3, TTL: 4 * time.Second}, names))
	}
	watchOverlap(t, nodes...)
	ttl := nodes[0].m.TTL()
	eventually(t, generous(ttl), "a fair split", func() bool { return fair(nodes, names) })
	t.Logf("fair split %v after the first instance started", time.Since(start).Round(time.Millisecond))

	info, err := nodes[0].m.b.stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("bucket replicas: config %d, cluster %+v; want 3", info.Config.Replicas, info.Cluster)
	}
	i := slices.IndexFunc(cluster.Nodes, func(s *natstest.Server) bool { return s.Name == info.Cluster.Leader })
	if i < 0 {
		t.Fatalf("leader %q is none of the nodes", info.Cluster.Leader)
	}
	before := map[string]time.Time{}
	for _, n := range nodes {
		for name, since := range n.since() {
			before[name] = since
		}
	}
	leader := cluster.Nodes[i]
	killed := time.Now()
	leader.Stop()
	// Two ticks for the effects to show, then a fair split again.
	time.Sleep(2 * nodes[0].m.tick)
	eventually(t, generous(ttl), "a fair split without the leader", func() bool { return fair(nodes, names) })
	retaken := 0
	for _, n := range nodes {
		for name, since := range n.since() {
			if !since.Equal(before[name]) {
				retaken++
			}
		}
	}
	t.Logf("stream leader %s killed: fair again after %v, %d of 10 leases lost and taken again",
		leader.Name, time.Since(killed).Round(time.Millisecond), retaken)

	leader.Restart(t)
	time.Sleep(2 * nodes[0].m.tick)
	eventually(t, generous(ttl), "a fair split with the leader back", func() bool { return fair(nodes, names) })
}
