// Package natsstate keeps the state of connect-sync's workspaces in a
// JetStream key-value bucket, so that several connect-sync instances can
// share it: the same checkpoint, snapshots, change records, per-sink
// queues, dead letters and memos, run records and import ledger that
// package state keeps in a bbolt file, with the same behaviour
// (internal/state/statetest).
//
// One instance writes a workspace at a time: a lease elsewhere sees to
// it, and a Workspace is handed the lease's context, with which every one
// of its operations ends. Within the bucket, the last Workspace opened is
// the workspace's writer: every write starts with a compare-and-set on the
// workspace's "wal" key, which opening a workspace writes too, so a
// Workspace opened earlier fails its next write and writes nothing more
// (see fence.go). A Workspace loads the small part of the state into
// memory when it is opened (checkpoint entries, queues, sinks, dead
// letters, memos) and writes through; snapshots, change records and
// imports are read by key.
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
	"crypto/rand"
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
	// write), and the wait for each message of a load's pass over the
	// index; 30 seconds when zero.
	Timeout time.Duration
	// ReadOnly opens the bucket for DB.Status alone, as `connect-sync
	// status` does: Open does not create it, but fails with
	// jetstream.ErrBucketNotFound (no state yet), and DB.Workspace
	// refuses.
	ReadOnly bool
}

// DB is an open state bucket.
type DB struct {
	kv      jetstream.KeyValue
	wire    *wire
	bucket  string
	timeout time.Duration
	// buffered is set when the connection keeps what is published while
	// it reconnects, to send it later.
	buffered bool
	readOnly bool // Options.ReadOnly
	hooks    hooks
	// ctx ends when the DB is closed, and every Workspace with it.
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// Open opens the bucket, creating it (history 1, file storage, no expiry)
// if it does not exist. The bucket's subjects are written directly, and
// its JetStream API reached under the default prefix: JetStream domains
// are not supported.
//
// A DB that writes (DB.Workspace) needs a connection that does not keep
// what is published while it reconnects, which nats.go does by default:
// such a write, which its Workspace saw fail, would be sent once the
// connection is back, maybe after another instance took the workspace
// over. Connect with nats.ReconnectBufSize(-1): a publish while
// disconnected then fails at once. DB.Status works on any connection.
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
	if errors.Is(err, jetstream.ErrBucketNotFound) && !opts.ReadOnly {
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
	o := js.Conn().Opts
	db := &DB{
		kv: kv, wire: newWire(js, opts.Bucket), bucket: opts.Bucket, timeout: opts.Timeout,
		buffered: o.AllowReconnect && o.ReconnectBufSize >= 0, readOnly: opts.ReadOnly,
	}
	db.ctx, db.cancel = context.WithCancelCause(context.Background())
	return db, nil
}

// hooks are where tests step in on a DB of theirs; zero elsewhere.
type hooks struct {
	// failAt is asked at named points of a write whether it fails there,
	// as a crash would: "wal" once the write-ahead record is stored,
	// "apply" once half of its keys are written, "take-over" once opening
	// has read the wal key, before it writes it.
	failAt func(point string) error
	// watch replaces the watch of the index, to make one say too early
	// that every current value was delivered.
	watch func(ctx context.Context, kv jetstream.KeyValue, filter string) (jetstream.KeyWatcher, error)
	// compactAt replaces defaultCompactAt, when set.
	compactAt int
}

// watch starts a watch of the keys matching filter.
func (db *DB) watch(ctx context.Context, filter string) (jetstream.KeyWatcher, error) {
	if db.hooks.watch != nil {
		return db.hooks.watch(ctx, db.kv, filter)
	}
	return db.kv.Watch(ctx, filter)
}

// compactAt is how many delete markers may pile up before a compaction.
func (db *DB) compactAt() int {
	if db.hooks.compactAt > 0 {
		return db.hooks.compactAt
	}
	return defaultCompactAt
}

// ErrClosed is why the operations of a Workspace fail once its DB is
// closed.
var ErrClosed = errors.New("the state DB is closed")

// Close ends every Workspace opened from the DB: their operations fail
// from then on, as when their lease ends, and one in progress sends
// nothing more. The connection is the caller's and stays open.
func (db *DB) Close() error {
	db.cancel(ErrClosed)
	return nil
}

// validName is what a workspace may be called: its name is a token of
// every key.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Workspace opens the state of the named workspace, under ctx, and makes
// the returned Workspace its writer: it claims the workspace's wal key, so
// that a Workspace opened before, here or by another instance, writes
// nothing more; it replays a write that a crash interrupted, then loads
// the checkpoint, queues, sinks, dead letters and memos. Each call loads
// afresh.
//
// lease is the context of the lease that makes this instance the
// workspace's single writer: when it ends, the open and every operation of
// the Workspace fail with it, whatever context they are given.
func (db *DB) Workspace(ctx, lease context.Context, name string) (*Workspace, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("natsstate: invalid workspace name %q: letters, digits, - and _ only", name)
	}
	if db.readOnly {
		return nil, fmt.Errorf("natsstate: workspace %s: the DB was opened read-only", name)
	}
	if db.buffered {
		return nil, fmt.Errorf("natsstate: workspace %s: the connection keeps what is published while it reconnects and sends it afterwards, when another instance may hold the workspace: connect with nats.ReconnectBufSize(-1)", name)
	}
	w := db.newWorkspace(lease, name)
	w.broken = true // loaded by the operation below, as after a failed write
	if err := w.do(ctx, "load", func(context.Context) error { return nil }); err != nil {
		w.cancel(nil)
		return nil, err
	}
	return w, nil
}

// newWorkspace is a Workspace whose lease ends with ctx or the DB, and
// that has loaded nothing yet.
func (db *DB) newWorkspace(ctx context.Context, name string) *Workspace {
	w := &Workspace{db: db, name: name, keys: keys{prefix: name + "."}, id: rand.Text()}
	w.lease, w.cancel = context.WithCancelCause(ctx)
	stop := context.AfterFunc(db.ctx, func() { w.cancel(context.Cause(db.ctx)) })
	context.AfterFunc(w.lease, func() { stop() })
	return w
}

// Status reads a workspace's status and writes nothing, not even the
// replay of a write-ahead record: it is for `connect-sync status`, while
// the instance holding the workspace may be writing it. Such a write shows
// as far as it got. A workspace with no state yet has an empty status.
//
// Writing here would also take the workspace from its holder (see
// DB.Workspace): the Workspace it reads through is read-only, and fails
// any write it were asked for.
func (db *DB) Status(ctx context.Context, name string) (state.Status, error) {
	if !validName.MatchString(name) {
		return state.Status{}, fmt.Errorf("natsstate: invalid workspace name %q: letters, digits, - and _ only", name)
	}
	w, err := db.reader(ctx, name)
	if err != nil {
		return state.Status{}, err
	}
	defer w.cancel(nil)
	return w.Status(ctx)
}

// reader returns a read-only Workspace of the named workspace: its index
// as the bucket holds it, without replaying the write-ahead record.
func (db *DB) reader(ctx context.Context, name string) (*Workspace, error) {
	w := db.newWorkspace(ctx, name)
	w.readOnly = true
	ix, err := w.loadIndex(ctx)
	if err != nil {
		w.cancel(nil)
		return nil, fmt.Errorf("natsstate: workspace %s: read the index: %w", name, err)
	}
	w.ix = ix
	return w, nil
}
