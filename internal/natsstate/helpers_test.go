package natsstate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/natstest"
)

// buckets numbers the tests' buckets, so that tests can share a server.
var buckets atomic.Int64

func newBucket() string { return fmt.Sprintf("state_%d", buckets.Add(1)) }

// openDB opens a new bucket on the server behind js.
func openDB(t testing.TB, js jetstream.JetStream, opts Options) *DB {
	t.Helper()
	if opts.Bucket == "" {
		opts.Bucket = newBucket()
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	db, err := Open(context.Background(), js, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openWorkspace(t testing.TB, db *DB, name string) *Workspace {
	t.Helper()
	w, err := db.Workspace(context.Background(), context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// newServer starts a server and connects to it.
func newServer(t testing.TB) (*natstest.Server, jetstream.JetStream) {
	t.Helper()
	srv := natstest.Start(t)
	return srv, connect(t, srv.URL)
}

// connect opens a JetStream client to the urls as a writer of the state
// must: a publish while disconnected fails at once, rather than being
// sent after the reconnect. It is closed when the test ends.
func connect(t testing.TB, urls ...string) jetstream.JetStream {
	t.Helper()
	return natstest.ConnectWith(t, urls, nats.ReconnectBufSize(-1))
}

// dump returns every key of a workspace (without its name) and value,
// but the write-ahead record: what the state is, byte for byte.
func dump(t testing.TB, db *DB, workspace string) map[string]string {
	t.Helper()
	ctx := context.Background()
	// In a cluster that just lost a node, creating the consumer of the
	// listing may time out a few times.
	lister, err := db.kv.ListKeysFiltered(ctx, workspace+".>")
	for try := 0; err != nil && try < 10; try++ {
		time.Sleep(time.Second)
		lister, err = db.kv.ListKeysFiltered(ctx, workspace+".>")
	}
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	lister.Stop() // done already: the list is complete
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == workspace+"."+keyWAL })
	values, err := db.wire.get(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(keys))
	for i, k := range keys {
		if values[i] != nil {
			out[strings.TrimPrefix(k, workspace+".")] = string(values[i])
		}
	}
	return out
}

// countChanges counts a workspace's change records.
func countChanges(t testing.TB, db *DB, workspace string) int {
	t.Helper()
	n := 0
	for k := range dump(t, db, workspace) {
		if strings.HasPrefix(k, "c.") {
			n++
		}
	}
	return n
}
