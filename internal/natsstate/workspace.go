package natsstate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Workspace is the state of one Connect workspace in the bucket. Its
// methods are those of *state.Workspace, and safe for concurrent use: they
// take turns, as bbolt's write transactions do.
//
// A write that fails part-way (a lost connection, a timeout) leaves the
// index in memory ahead of the bucket; the Workspace then loads itself
// again, replaying the write-ahead record, before its next operation.
type Workspace struct {
	db   *DB
	name string
	keys keys

	mu      sync.Mutex
	ix      *index
	walLive bool // the wal key holds the record of the last write
	broken  bool // the index may differ from the bucket
	touched bool // the operation in progress changed the index
	// markers counts the delete markers under x. (entryMarkers those of
	// checkpoint entries) since the last compaction, or in the bucket
	// when loaded.
	markers, entryMarkers int
}

// Name returns the workspace's name.
func (w *Workspace) Name() string { return w.name }

// do runs one operation: it loads the workspace again if an earlier write
// failed, and marks it for that if this one fails after changing the
// index.
func (w *Workspace) do(what string, fn func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken {
		ctx, cancel := w.timeout()
		err := w.load(ctx)
		cancel()
		if err != nil {
			return err
		}
	}
	w.touched = false
	if err := fn(); err != nil {
		if w.touched {
			w.broken = true
		}
		return fmt.Errorf("natsstate: workspace %s: %s: %w", w.name, what, err)
	}
	return nil
}

// timeout bounds one round of requests.
func (w *Workspace) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), w.db.timeout)
}

// load replays what a crash left in the write-ahead record, reads the
// index in one pass over the x. keys, and collects what dropped sinks
// left.
func (w *Workspace) load(ctx context.Context) error {
	w.broken = true
	err := w.replay(ctx)
	if err == nil {
		if w.ix, err = w.loadIndex(ctx); err != nil {
			err = fmt.Errorf("read the index: %w", err)
		}
	}
	if err == nil {
		err = w.collect()
	}
	if err == nil {
		err = w.compactIfDue()
	}
	if err != nil {
		return fmt.Errorf("natsstate: workspace %s: load: %w", w.name, err)
	}
	w.broken = false
	return nil
}

func (w *Workspace) loadIndex(ctx context.Context) (*index, error) {
	watcher, err := w.db.kv.Watch(ctx, w.keys.prefix+indexKeys)
	if err != nil {
		return nil, err
	}
	defer watcher.Stop()
	ix := newIndex()
	w.markers, w.entryMarkers = 0, 0
	for {
		select {
		case e, ok := <-watcher.Updates():
			if !ok {
				return nil, errors.New("the watch of the index ended early")
			}
			if e == nil {
				return ix, nil // every current value was delivered
			}
			key := strings.TrimPrefix(e.Key(), w.keys.prefix)
			if e.Operation() != jetstream.KeyValuePut {
				w.countDeletes([]op{del(key)})
				continue
			}
			if err := ix.apply(put(key, e.Value())); err != nil {
				return nil, err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// get reads keys of the workspace; a missing key's value is nil.
func (w *Workspace) get(keys ...string) ([][]byte, error) {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = w.keys.prefix + k
	}
	ctx, cancel := w.timeout()
	defer cancel()
	return w.db.wire.get(ctx, full)
}

// set writes one key and applies it to the index.
func (w *Workspace) set(o op) error {
	w.touched = true
	if err := w.ix.apply(o); err != nil {
		return err
	}
	ctx, cancel := w.timeout()
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
func (b *batch) add(what string, ops ...op) error {
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
		if err := b.flush(); err != nil {
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
func (b *batch) flush() error {
	b.w.touched = true
	tail := b.tail(b.items)
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
	ctx, cancel := b.w.timeout()
	defer cancel()
	return b.w.writeChunk(ctx, ops)
}

// done writes the last chunk, and the tail even of a write with no item.
func (b *batch) done() error {
	if len(b.ops) > 0 || !b.wrote {
		return b.flush()
	}
	return nil
}
