package natsstate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/natsconn"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Workspace is the state of one Connect workspace in the bucket: a
// state.Store, safe for concurrent use (its operations take turns, as
// bbolt's write transactions do).
//
// A write that fails part-way (a lost connection, a timeout) leaves the
// index in memory ahead of the bucket; the Workspace then loads itself
// again, replaying the write-ahead record, before its next operation. A
// Workspace whose lease has ended, or that another has fenced out (see
// fence.go), fails every operation instead.
type Workspace struct {
	db   *DB
	name string
	keys keys
	// lease is the context of the lease that makes this instance the
	// workspace's writer (see DB.Workspace): each operation runs under its
	// own context and this one, and once it ends, every operation fails.
	// It ends too when the DB is closed.
	lease  context.Context
	cancel context.CancelCauseFunc
	// id names this Workspace's writes to the wal key.
	id string
	// readOnly is set for DB.Status, which must never write.
	readOnly bool

	mu sync.Mutex
	ix *index
	// walSeq is the sequence number of the wal key's last message: every
	// write starts with a compare-and-set on it (see fence.go).
	walSeq  uint64
	claimed bool // this Workspace has taken the workspace over once
	broken  bool // the index may differ from the bucket
	fenced  bool // another Workspace has taken the workspace over
	touched bool // the operation in progress changed the index
	// markers counts the delete markers under x. (entryMarkers those of
	// checkpoint entries) since the last compaction, or in the bucket
	// when loaded.
	markers, entryMarkers int
}

// do runs one operation under ctx and the lease: it fails at once when
// the Workspace may not be used any more, loads the workspace again if an
// earlier write failed, and marks it for that if this one fails after
// changing the index.
func (w *Workspace) do(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(w.lease, func() { cancel(context.Cause(w.lease)) })()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(ctx); err != nil {
		return w.fail(what, err)
	}
	if w.broken {
		if err := w.load(ctx); err != nil {
			return err
		}
	}
	w.touched = false
	if err := fn(ctx); err != nil {
		if w.touched {
			w.broken = true
		}
		return w.fail(what, err)
	}
	return nil
}

// fail names the workspace and the operation in err.
func (w *Workspace) fail(what string, err error) error {
	if errors.Is(err, ErrFenced) {
		return fmt.Errorf("natsstate: workspace %s: %w", w.name, ErrFenced)
	}
	return fmt.Errorf("natsstate: workspace %s: %s: %w", w.name, what, err)
}

// usable returns why an operation under ctx may not go on, if it may not:
// the Workspace fenced out or closed, its lease or ctx ended (with the
// cause it ended with).
func (w *Workspace) usable(ctx context.Context) error {
	switch {
	case w.fenced:
		return ErrFenced
	case w.db.ctx.Err() != nil:
		return ErrClosed // at once, before w.lease follows
	case w.lease.Err() != nil: // at once, before an operation's ctx follows
		return ended(w.lease)
	}
	return ended(ctx)
}

// ended returns ctx's error with the cause it ended with, nil while it
// goes on.
func ended(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); err != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// timeout bounds one round of requests of an operation under ctx.
func (w *Workspace) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, w.db.timeout)
}

// timed does one round of requests of an operation under ctx, unless the
// operation may not go on: a long one (a compaction) stops between rounds
// once the lease has ended.
func (w *Workspace) timed(ctx context.Context, round func(ctx context.Context) error) error {
	if err := w.usable(ctx); err != nil {
		return err
	}
	ctx, cancel := w.timeout(ctx)
	defer cancel()
	return round(ctx)
}

// load takes the workspace over (see fence.go), replaying what a crash
// left in the write-ahead record, reads the index in one pass over the x.
// keys, and collects what dropped sinks left. The caller holds w.mu.
func (w *Workspace) load(ctx context.Context) error {
	w.broken = true
	err := w.usable(ctx)
	if err == nil {
		err = w.takeOver(ctx)
	}
	if err == nil {
		var ix *index
		if ix, err = w.loadIndex(ctx); err == nil {
			w.ix = ix
		} else {
			err = fmt.Errorf("read the index: %w", err)
		}
	}
	if err == nil {
		err = w.collect(ctx)
	}
	if err == nil {
		err = w.compactIfDue(ctx)
	}
	if err != nil {
		return w.fail("load", err)
	}
	w.broken = false
	return nil
}

// loadIndex reads the index in one pass over the x. keys. The pass is
// not bounded as a whole, since the index may be big, but each of its
// messages must come within the timeout.
//
// The pass must be whole: compaction purges what the index lacks, and a
// queue whose sink is missing counts as garbage. A watch may say too early
// that every current value was delivered (its server-side pending count
// can be wrong, as seen while a cluster elects a new stream leader), so
// the pass goes on until it has reached the last message under x. that the
// stream holds by then: the watch delivers in stream order and skips no
// message, so it has seen the last value of every key up to there. A
// writer racing the pass (a stale one's last write, or the holder's while
// DB.Status reads) may still change a key after it.
func (w *Workspace) loadIndex(ctx context.Context) (*index, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watcher, err := w.db.watch(ctx, w.keys.prefix+indexKeys)
	if err != nil {
		return nil, err
	}
	defer natsconn.StopWatcher(watcher)
	idle := time.NewTimer(w.db.timeout)
	defer idle.Stop()
	ix := newIndex()
	w.markers, w.entryMarkers = 0, 0
	var reached, target uint64 // the last message seen, and the one to reach
	signalled := false         // the watch said it delivered every value
	for {
		select {
		case e, ok := <-watcher.Updates():
			if !ok {
				return nil, errors.New("the watch of the index ended early")
			}
			if e == nil { // every current value was delivered, says the watch
				rctx, rcancel := w.timeout(ctx)
				last, err := w.db.wire.last(rctx, w.keys.prefix+indexKeys)
				rcancel()
				if err != nil {
					return nil, err
				}
				signalled, target = true, last.seq
			} else {
				idle.Reset(w.db.timeout)
				reached = max(reached, e.Revision())
				key := strings.TrimPrefix(e.Key(), w.keys.prefix)
				o := put(key, e.Value())
				if e.Operation() != jetstream.KeyValuePut {
					o = del(key)
					w.countDeletes([]op{o})
				}
				if err := ix.apply(o); err != nil {
					return nil, err
				}
			}
			if signalled && reached >= target {
				return ix, nil
			}
		case <-idle.C:
			return nil, fmt.Errorf("the watch of the index: nothing for %s (the last message seen is %d, the one to reach %d)", w.db.timeout, reached, target)
		case <-ctx.Done():
			return nil, w.usable(ctx)
		}
	}
}

// get reads keys of the workspace; a missing key's value is nil.
func (w *Workspace) get(ctx context.Context, keys ...string) ([][]byte, error) {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = w.keys.prefix + k
	}
	ctx, cancel := w.timeout(ctx)
	defer cancel()
	return w.db.wire.get(ctx, full)
}

// set writes one key and applies it to the index.
func (w *Workspace) set(ctx context.Context, o op) error {
	w.touched = true
	if err := w.ix.apply(o); err != nil {
		return err
	}
	ctx, cancel := w.timeout(ctx)
	defer cancel()
	return w.writeOne(ctx, o)
}

// batch gathers the ops of a write into chunks, each written whole (see
// wal.go). Items (a contact's ops, a change's) never straddle chunks.
type batch struct {
	w *Workspace
	// tail returns the ops each chunk ends with, for the items it holds
	// (the meta with the next sequence number, a sink's record): computed
	// from the index, it must not change anything itself.
	tail  func(items int) []op
	final []op // what the last chunk ends with (see done)
	ops   []op
	size  int
	items int
	wrote bool
}

func (w *Workspace) batch(tail func(items int) []op) *batch {
	if tail == nil {
		tail = func(int) []op { return nil }
	}
	return &batch{w: w, tail: tail}
}

// add adds an item's ops; what names it in an error.
func (b *batch) add(ctx context.Context, what string, ops ...op) error {
	size := 0
	for _, o := range ops {
		size += opSize(o)
	}
	for _, o := range b.tail(b.items + 1) {
		size += opSize(o)
	}
	if limit := b.w.db.wire.maxPayload() - 4<<10; size > limit {
		return fmt.Errorf("%s: %d bytes to write at once, more than the server's max_payload allows (%d)", what, size, limit)
	}
	if b.size > 0 && b.size+size > chunkSize {
		if err := b.flush(ctx); err != nil {
			return err
		}
	}
	b.w.touched = true
	for _, o := range ops {
		if err := b.w.ix.apply(o); err != nil {
			return err
		}
		b.size += opSize(o)
	}
	b.ops = append(b.ops, ops...)
	b.items++
	return nil
}

// flush writes the chunk gathered so far.
func (b *batch) flush(ctx context.Context) error {
	// A big write stops between chunks once the lease has ended: the
	// chunks written are whole, the rest is not there at all.
	if err := b.w.usable(ctx); err != nil {
		return err
	}
	b.w.touched = true
	tail := append(b.tail(b.items), b.final...)
	for _, o := range tail {
		if err := b.w.ix.apply(o); err != nil {
			return err
		}
	}
	ops := append(b.ops, tail...)
	b.ops, b.size, b.items, b.wrote = nil, 0, 0, true
	if len(ops) == 0 {
		return nil
	}
	ctx, cancel := b.w.timeout(ctx)
	defer cancel()
	return b.w.writeChunk(ctx, ops)
}

// done writes the last chunk, ending with final (what marks the whole
// write done, such as a sink's record), and the tail even of a write with
// no item.
func (b *batch) done(ctx context.Context, final ...op) error {
	if len(b.ops) == 0 && len(final) == 0 && b.wrote {
		return nil
	}
	b.final = final
	return b.flush(ctx)
}

// Interface guards.
var (
	_ state.Store = (*Workspace)(nil)
	_ sinks.Memo  = (*Memo)(nil)
)
