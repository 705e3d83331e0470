package natsstate

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Checkpoint returns every tracked contact's entry.
func (w *Workspace) Checkpoint(ctx context.Context) (map[string]state.Entry, error) {
	var cp map[string]state.Entry
	err := w.do(ctx, "checkpoint", func(ctx context.Context) error {
		cp = maps.Clone(w.ix.entries)
		return nil
	})
	return cp, err
}

// IDs returns every tracked contact's id, sorted.
func (w *Workspace) IDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := w.do(ctx, "ids", func(context.Context) error {
		ids = slices.Clone(w.ix.sortedIDs())
		return nil
	})
	return ids, err
}

// Snapshots returns the stored snapshots of the given contacts; ids
// without one are absent from the result.
func (w *Workspace) Snapshots(ctx context.Context, ids []string) (map[string]json.RawMessage, error) {
	snaps := make(map[string]json.RawMessage, len(ids))
	err := w.do(ctx, "snapshots", func(ctx context.Context) error {
		found, err := w.snapshots(ctx, ids)
		for id, s := range found {
			snaps[id] = s
		}
		return err
	})
	return snaps, err
}

// snapshots reads the snapshots of the tracked contacts among ids.
func (w *Workspace) snapshots(ctx context.Context, ids []string) (map[string]json.RawMessage, error) {
	var tracked, keys []string
	for _, id := range ids {
		if _, ok := w.ix.entries[id]; ok {
			tracked = append(tracked, id)
			keys = append(keys, snapshotKey(id))
		}
	}
	values, err := w.get(ctx, keys...)
	if err != nil {
		return nil, err
	}
	snaps := make(map[string]json.RawMessage, len(tracked))
	for i, id := range tracked {
		if values[i] != nil {
			snaps[id] = values[i]
		}
	}
	return snaps, nil
}

// Commit records detected changes: each contact's new checkpoint entry
// and snapshot with its change record and its place in every registered
// sink's queue, in chunks that are each written whole. A crash between
// chunks leaves the later contacts as they were, to be detected again.
func (w *Workspace) Commit(ctx context.Context, batch []state.Detected) error {
	return w.do(ctx, "commit", func(ctx context.Context) error {
		b := w.batch(func(int) []op { return []op{putJSON(keyMeta, w.ix.meta)} })
		gens := w.ix.live()
		for _, d := range batch {
			id := d.Change.Contact.ID
			var ops []op
			if d.Entry == nil {
				ops = []op{del(entryKey(id)), del(snapshotKey(id))}
			} else {
				ops = []op{put(entryKey(id), d.Entry.Encode()), put(snapshotKey(id), d.Change.Contact.Raw)}
			}
			seq := w.ix.nextSeq()
			if len(gens) > 0 { // with no sink, nothing would read the record
				ops = append(ops, putJSON(changeKey(seq), state.NewRecord(d.Change)), putJSON(queueKey(seq), gens))
			}
			if err := b.add(ctx, "contact "+id, ops...); err != nil {
				return err
			}
		}
		return b.done(ctx)
	})
}

// Touch records new checkpoint entries, and nothing else.
func (w *Workspace) Touch(ctx context.Context, batch []state.Touch) error {
	return w.do(ctx, "touch", func(ctx context.Context) error {
		b := w.batch(nil)
		for _, t := range batch {
			if err := b.add(ctx, "contact "+t.ID, put(entryKey(t.ID), t.Entry.Encode())); err != nil {
				return err
			}
		}
		return b.done(ctx)
	})
}

// Enqueue queues changes for one sink only.
func (w *Workspace) Enqueue(ctx context.Context, sink string, changes []contact.Change) error {
	return w.do(ctx, "enqueue for sink "+sink, func(ctx context.Context) error {
		gen, _, err := w.ix.sink(sink)
		if err != nil {
			return err
		}
		b := w.batch(func(int) []op { return []op{putJSON(keyMeta, w.ix.meta)} })
		for _, c := range changes {
			seq := w.ix.nextSeq()
			if err := b.add(ctx, "change "+c.ID, putJSON(changeKey(seq), state.NewRecord(c)), putJSON(queueKey(seq), []uint64{gen})); err != nil {
				return err
			}
		}
		return b.done(ctx)
	})
}

// backfillPage is how many snapshots a back-fill reads at once.
const backfillPage = 500

// Backfill queues a creation of every tracked contact, in id order, for
// one sink, and clears its Backfilling mark in the last chunk.
func (w *Workspace) Backfill(ctx context.Context, sink string, now time.Time, newID func() string) (int, error) {
	n := 0
	err := w.do(ctx, "back-fill sink "+sink, func(ctx context.Context) error {
		gen, _, err := w.ix.sink(sink)
		if err != nil {
			return err
		}
		b := w.batch(func(int) []op { return []op{putJSON(keyMeta, w.ix.meta)} })
		ids := slices.Sorted(maps.Keys(w.ix.entries))
		for page := range slices.Chunk(ids, backfillPage) {
			snaps, err := w.snapshots(ctx, page)
			if err != nil {
				return err
			}
			for _, id := range page {
				if snaps[id] == nil {
					continue
				}
				cur, err := contact.Parse(snaps[id])
				if err != nil {
					return fmt.Errorf("snapshot %s: %w", id, err)
				}
				seq := w.ix.nextSeq()
				rec := state.NewRecord(contact.Change{ID: newID(), Kind: contact.Created, DetectedAt: now, Contact: cur})
				if err := b.add(ctx, "contact "+id, putJSON(changeKey(seq), rec), putJSON(queueKey(seq), []uint64{gen})); err != nil {
					return err
				}
				n++
			}
		}
		return b.done(ctx, w.updateOp(sink, func(info *state.SinkInfo) { info.Backfilling = false }))
	})
	return n, err
}

// Queue returns up to limit changes from a sink's queue, oldest first,
// starting after sequence number after.
func (w *Workspace) Queue(ctx context.Context, sink string, after uint64, limit int) ([]state.Queued, error) {
	var out []state.Queued
	err := w.do(ctx, "queue of sink "+sink, func(ctx context.Context) error {
		_, g, err := w.ix.sink(sink)
		if err != nil {
			return err
		}
		seqs := g.queue.after(after, limit)
		records, err := w.records(ctx, seqs)
		if err != nil {
			return err
		}
		for i, r := range records {
			c, err := r.Change()
			if err != nil {
				return fmt.Errorf("change %d: %w", seqs[i], err)
			}
			out = append(out, state.Queued{Seq: seqs[i], Change: c})
		}
		return nil
	})
	return out, err
}

// records reads change records, which must be there.
func (w *Workspace) records(ctx context.Context, seqs []uint64) ([]state.Record, error) {
	keys := make([]string, len(seqs))
	for i, seq := range seqs {
		keys[i] = changeKey(seq)
	}
	values, err := w.get(ctx, keys...)
	if err != nil {
		return nil, err
	}
	records := make([]state.Record, len(seqs))
	for i, v := range values {
		if v == nil {
			return nil, fmt.Errorf("change %d: no record", seqs[i])
		}
		if err := json.Unmarshal(v, &records[i]); err != nil {
			return nil, fmt.Errorf("change %d: %w", seqs[i], err)
		}
	}
	return records, nil
}

// Ack records that a sink acknowledged the given changes: they leave its
// queue, and a change record no other queue or dead letter needs goes.
func (w *Workspace) Ack(ctx context.Context, sink string, seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	return w.do(ctx, "ack for sink "+sink, func(ctx context.Context) error {
		gen, g, err := w.ix.sink(sink)
		if err != nil {
			return err
		}
		b := w.batch(func(items int) []op {
			return []op{w.updateOp(sink, func(info *state.SinkInfo) { info.Delivered += uint64(items) })}
		})
		for _, seq := range seqs {
			var ops []op
			if g.queue.has(seq) {
				ops = w.unqueue(gen, seq, 0)
			}
			if err := b.add(ctx, fmt.Sprint("change ", seq), ops...); err != nil {
				return err
			}
		}
		return b.done(ctx)
	})
}

// unqueue takes seq out of a generation's queue; the record goes too when
// nothing else needs it, counting extraLetters dead letters about to be
// written.
func (w *Workspace) unqueue(gen, seq uint64, extraLetters int) []op {
	rest := slices.DeleteFunc(slices.Clone(w.ix.refs[seq]), func(g uint64) bool { return g == gen })
	if len(rest) > 0 {
		return []op{putJSON(queueKey(seq), rest)}
	}
	ops := []op{del(queueKey(seq))}
	if w.ix.dead[seq]+extraLetters == 0 {
		ops = append(ops, del(changeKey(seq)))
	}
	return ops
}
