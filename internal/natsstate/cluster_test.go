package natsstate

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/state"
)

// TestServerRestartKeepsEverything restarts the server between
// operations: the bucket is on disk, and the open workspace goes on once
// the client has reconnected.
func TestServerRestartKeepsEverything(t *testing.T) {
	srv, js := newServer(t)
	db := openDB(t, js, Options{Timeout: 5 * time.Second})
	w := openWorkspace(t, db, "acme")
	crashSetup(t, w)
	ok(t, w.RecordRun(t.Context(), state.Run{FinishedAt: at, Result: state.RunSucceeded}))
	before := viewOf(t, w)

	srv.Stop()
	srv.Restart(t)
	natstest.WaitJetStream(t, srv.URL)

	// The old handle and connection work again.
	retry(t, func() error { return w.Ack(t.Context(), "b", []uint64{1}) })
	if n, _ := w.Pending(t.Context(), "b"); n != 4 {
		t.Errorf("b pending %d after an ack, want 4", n)
	}
	ok(t, w.Ack(t.Context(), "b", []uint64{4}))
	after := viewOf(t, w)
	if slices.Equal(after, before) {
		t.Fatal("the acks changed nothing")
	}
	// Everything is on disk: a new connection reads the same.
	if got := viewOf(t, openWorkspace(t, natsDB(t, srv.URL), "acme")); !slices.Equal(got, after) {
		t.Errorf("after the restart:\n%v\nwant\n%v", got, after)
	}
}

// natsDB opens the bucket of the test on a new connection to urls.
func natsDB(t *testing.T, urls ...string) *DB {
	t.Helper()
	db, err := Open(context.Background(), connect(t, urls...), Options{Bucket: currentBucket(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// currentBucket is the bucket the test opened last.
func currentBucket() string { return fmt.Sprintf("state_%d", buckets.Load()) }

// retry repeats op until it succeeds, as the next runs would.
func retry(t *testing.T, op func() error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := op()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after a minute: %v", err)
		}
		t.Logf("retrying: %v", err)
		time.Sleep(500 * time.Millisecond)
	}
}

// TestClusterNodeLoss runs a workload on a bucket replicated on three
// servers and stops one of them half-way: operations that fail meanwhile
// are done again, as the next run would, and nothing is lost.
func TestClusterNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a three-node cluster losing its stream leader; runs without -short")
	}
	c := natstest.StartCluster(t)
	js := connect(t, c.URLs()...)
	db := openDB(t, js, Options{Replicas: 3, Timeout: 5 * time.Second})
	w := openWorkspace(t, db, "acme")
	ok(t, w.RegisterSink(t.Context(), "a", state.SinkInfo{Type: "csv"}))
	ok(t, w.RegisterSink(t.Context(), "b", state.SinkInfo{Type: "csv"}))

	const rounds, perRound = 20, 100
	// acked counts the changes acknowledged; an ack that failed may
	// have been applied all the same, up to lost of them.
	acked, lost := 0, 0
	var stopped *natstest.Server
	for round := range rounds {
		if round == rounds/2 {
			stopped = leader(t, js, c)
			stopped.Stop()
		}
		batch := createdBatch(t, round*perRound, perRound)
		retry(t, func() error {
			// What an interrupted commit wrote is not committed again:
			// the next run would find it unchanged.
			cp, err := w.Checkpoint(t.Context())
			if err != nil {
				return err
			}
			batch = slices.DeleteFunc(batch, func(d state.Detected) bool { _, ok := cp[d.Change.Contact.ID]; return ok })
			return w.Commit(t.Context(), batch)
		})
		retry(t, func() error {
			q, err := w.Queue(t.Context(), "a", 0, perRound/2)
			if err != nil {
				return err
			}
			seqs := make([]uint64, len(q))
			for i, c := range q {
				seqs[i] = c.Seq
			}
			if err := w.Ack(t.Context(), "a", seqs); err != nil {
				lost += len(seqs)
				return err
			}
			acked += len(seqs)
			return nil
		})
	}

	// A new connection, to the nodes still up, finds every contact and
	// every change.
	var up []string
	for _, n := range c.Nodes {
		if n != stopped {
			up = append(up, n.URL)
		}
	}
	db2 := natsDB(t, up...)
	var w2 *Workspace
	retry(t, func() error {
		var err error
		w2, err = db2.Workspace(context.Background(), context.Background(), "acme")
		return err
	})
	cp, err := w2.Checkpoint(t.Context())
	ok(t, err)
	if len(cp) != rounds*perRound {
		t.Errorf("%d contacts, want %d", len(cp), rounds*perRound)
	}
	qa, err := w2.Queue(t.Context(), "a", 0, 10_000)
	ok(t, err)
	qb, err := w2.Queue(t.Context(), "b", 0, 10_000)
	ok(t, err)
	if left := rounds*perRound - acked; len(qb) != rounds*perRound || len(qa) > left || len(qa) < left-lost {
		t.Errorf("queues of %d and %d, want %d (less up to %d) and %d", len(qa), len(qb), left, lost, rounds*perRound)
	}
	for i, c := range qb {
		if want := fmt.Sprintf("ct_%07d", i); c.Change.Contact.ID != want {
			t.Fatalf("b's change %d is of %s, want %s", i, c.Change.Contact.ID, want)
		}
	}
	if n := countChanges(t, db2, "acme"); n != rounds*perRound {
		t.Errorf("%d change records, want %d", n, rounds*perRound)
	}
}

// leader returns the node that leads the bucket's stream: stopping it
// makes the others elect another.
func leader(t *testing.T, js jetstream.JetStream, c *natstest.Cluster) *natstest.Server {
	t.Helper()
	s, err := js.Stream(context.Background(), "KV_"+currentBucket())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if info.Cluster != nil && n.Name == info.Cluster.Leader {
			t.Logf("stopping %s, the stream's leader", n.Name)
			return n
		}
	}
	t.Fatalf("no leader among the nodes: %+v", info.Cluster)
	return nil
}
