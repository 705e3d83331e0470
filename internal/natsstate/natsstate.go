// Package natsstate keeps the state of connect-sync's workspaces in a
// JetStream key-value bucket, so that several connect-sync instances can
// share it: the same checkpoint, snapshots, change records, per-sink
// queues, dead letters and memos, run records and import ledger that
// package state keeps in a bbolt file, with the same behaviour
// (internal/state/statetest).
//
// One instance writes a workspace at a time (a lease elsewhere sees to
// it). A Workspace loads the small part of the state into memory when it
// is opened (checkpoint entries, queues, sinks, dead letters, memos) and
// writes through; snapshots, change records and imports are read by key.
//
// The bucket has no multi-key transactions, so every write of several keys
// first stores all of them as one write-ahead record under the workspace's
// "wal" key, then applies them (puts and purges, idempotent). Opening a
// workspace replays a write-ahead record a crash left behind, so a write
// is either whole or not there at all, as in bbolt. Big writes go in
// chunks, each a whole, consistent write of its own. See keys.go for the
// layout.
package natsstate

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/state"
)

// DefaultBucket is the bucket's name when Options leave it empty.
const DefaultBucket = "connect_sync_state"

// Options are the bucket's settings.
type Options struct {
	// Bucket names the key-value bucket; DefaultBucket when empty.
	Bucket string
	// Replicas is how many servers of a cluster keep the bucket; 1 when
	// zero. It applies when the bucket is created.
	Replicas int
	// Timeout bounds each operation's round trips (a whole chunk of a
	// write); 30 seconds when zero.
	Timeout time.Duration
}

// DB is an open state bucket.
type DB struct {
	kv      jetstream.KeyValue
	wire    *wire
	bucket  string
	timeout time.Duration
}

// Open opens the bucket, creating it (history 1, file storage, no expiry)
// if it does not exist. The bucket's subjects are written directly, and
// its JetStream API reached under the default prefix: JetStream domains
// are not supported.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*DB, error) {
	if opts.Bucket == "" {
		opts.Bucket = DefaultBucket
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	kv, err := js.KeyValue(ctx, opts.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      opts.Bucket,
			Description: "connect-sync state",
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    opts.Replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			// Another instance created it meanwhile.
			kv, err = js.KeyValue(ctx, opts.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("natsstate: bucket %s: %w", opts.Bucket, err)
	}
	return &DB{kv: kv, wire: newWire(js, opts.Bucket), bucket: opts.Bucket, timeout: opts.Timeout}, nil
}

// Close releases the DB. The connection is the caller's and stays open.
func (db *DB) Close() error { return nil }

// validName is what a workspace may be called: its name is a token of
// every key.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Workspace opens the state of the named workspace: it replays a write
// that a crash interrupted, then loads the checkpoint, queues, sinks, dead
// letters and memos. Each call loads afresh; the returned Workspace must be
// the workspace's only writer while it is used.
func (db *DB) Workspace(ctx context.Context, name string) (*Workspace, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("natsstate: invalid workspace name %q: letters, digits, - and _ only", name)
	}
	w := &Workspace{db: db, name: name, keys: keys{prefix: name + "."}}
	if err := w.load(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// Status reads a workspace's status and writes nothing, not even the
// replay of a write-ahead record: it is for `connect-sync status`, while
// the instance holding the workspace may be writing it. Such a write shows
// as far as it got. A workspace with no state yet has an empty status.
func (db *DB) Status(ctx context.Context, name string) (state.Status, error) {
	if !validName.MatchString(name) {
		return state.Status{}, fmt.Errorf("natsstate: invalid workspace name %q: letters, digits, - and _ only", name)
	}
	w := &Workspace{db: db, name: name, keys: keys{prefix: name + "."}}
	ix, err := w.loadIndex(ctx)
	if err != nil {
		return state.Status{}, fmt.Errorf("natsstate: workspace %s: read the index: %w", name, err)
	}
	w.ix = ix
	return w.Status()
}
