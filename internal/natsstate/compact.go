package natsstate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Deleting a key leaves a KV delete marker (see wire.write), and the keys
// of change records and queue entries are new every time: delivering a
// change leaves two markers. Loading reads the markers under x. too, so
// they must not pile up. Compaction removes them in bulk: it writes every
// live key of a family again (the same value, so a crash at any point
// loses nothing), then purges the family's messages older than those
// writes, which are only markers and nothing else. It deletes the
// write-ahead record first, as every single-key write does: the last
// write is whole by then.

// defaultCompactAt is how many markers under x. may pile up before a
// compaction, at least; more when the index has more live keys, so that
// a compaction rewrites no more than the markers it removes. A variable
// for tests.
const defaultCompactAt = 10_000

// countDeletes counts the markers a write leaves under x.
func (w *Workspace) countDeletes(ops []op) {
	for _, o := range ops {
		if o.del && strings.HasPrefix(o.key, "x.") {
			w.markers++
			if strings.HasPrefix(o.key, "x.e.") {
				w.entryMarkers++
			}
		}
	}
}

// compactIfDue compacts when markers outnumber live keys (and compactAt).
// Change records go with the index, whose queue entries they pair with;
// snapshots only when contacts deleted outnumber the tracked ones, since
// rewriting them means reading every one.
func (w *Workspace) compactIfDue(ctx context.Context) error {
	if w.markers < w.db.compactAt() {
		return nil // without listing every live key, as the next test does
	}
	ops := w.ix.ops()
	if w.markers < len(ops) {
		return nil
	}
	err := w.compactIndex(ctx, ops)
	if err == nil {
		err = w.compactRecords(ctx)
	}
	if err == nil && w.entryMarkers >= max(w.db.compactAt(), len(w.ix.entries)) {
		err = w.compactSnapshots(ctx)
	}
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	w.markers, w.entryMarkers = 0, 0
	return nil
}

// compact rewrites a family's live keys (rewrite hands them to write,
// page by page), then purges the family's messages older than the first
// rewrite. A stale Workspace compacting would put back what it holds and
// purge what the new holder wrote: each page and the purge start with the
// fence (see fence.go), and a compaction stops between pages once the
// lease has ended.
func (w *Workspace) compact(ctx context.Context, family string, rewrite func(write func([]op) error) error) error {
	var last uint64
	err := w.timed(ctx, func(ctx context.Context) error {
		err := w.fence(ctx, del(keyWAL))
		if err == nil {
			last, err = w.db.wire.lastSeq(ctx)
		}
		return err
	})
	if err != nil {
		return err
	}
	err = rewrite(func(ops []op) error {
		return w.timed(ctx, func(ctx context.Context) error {
			if err := w.fence(ctx, del(keyWAL)); err != nil {
				return err
			}
			return w.write(ctx, ops)
		})
	})
	if err != nil {
		return err
	}
	return w.timed(ctx, func(ctx context.Context) error {
		if err := w.fence(ctx, del(keyWAL)); err != nil {
			return err
		}
		return w.purge(ctx, family, last+1)
	})
}

// compactIndex compacts the keys under x. from the index.
func (w *Workspace) compactIndex(ctx context.Context, live []op) error {
	return w.compact(ctx, indexKeys, func(write func([]op) error) error {
		for page := range slices.Chunk(live, 1000) {
			if err := write(page); err != nil {
				return err
			}
		}
		return nil
	})
}

// compactRecords compacts the change records: those a queue or a dead
// letter needs are live.
func (w *Workspace) compactRecords(ctx context.Context) error {
	seqs := slices.Sorted(maps.Keys(w.ix.refs))
	for seq := range w.ix.dead {
		if len(w.ix.refs[seq]) == 0 {
			seqs = append(seqs, seq)
		}
	}
	keys := make([]string, len(seqs))
	for i, seq := range seqs {
		keys[i] = changeKey(seq)
	}
	return w.compactRead(ctx, "c.>", keys)
}

func (w *Workspace) compactSnapshots(ctx context.Context) error {
	keys := make([]string, 0, len(w.ix.entries))
	for id := range w.ix.entries {
		keys = append(keys, snapshotKey(id))
	}
	return w.compactRead(ctx, "s.>", keys)
}

// compactRead compacts a family whose live keys' values are read from the
// bucket, a page at a time.
func (w *Workspace) compactRead(ctx context.Context, family string, keys []string) error {
	return w.compact(ctx, family, func(write func([]op) error) error {
		for page := range slices.Chunk(keys, backfillPage) {
			values, err := w.get(ctx, page...)
			if err != nil {
				return err
			}
			var live []op
			for i, v := range values {
				if v != nil {
					live = append(live, put(page[i], v))
				}
			}
			if err := write(live); err != nil {
				return err
			}
		}
		return nil
	})
}

// ops returns a put of every key the index holds, as they are now.
func (ix *index) ops() []op {
	ops := []op{putJSON(keyMeta, ix.meta)}
	for id, e := range ix.entries {
		ops = append(ops, put(entryKey(id), e.Encode()))
	}
	for name, r := range ix.sinks {
		ops = append(ops, putJSON(sinkKey(name), r))
	}
	for seq, gens := range ix.refs {
		ops = append(ops, putJSON(queueKey(seq), gens))
	}
	for n, g := range ix.gens {
		for seq, l := range g.dead {
			ops = append(ops, putJSON(deadKey(n, seq), l))
		}
		for id, v := range g.memo {
			ops = append(ops, put(memoKey(n, id), v))
		}
	}
	return ops
}
