package natsstate

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Bury moves changes from a sink's queue to its dead letters.
func (w *Workspace) Bury(ctx context.Context, sink string, burials []state.Burial) error {
	if len(burials) == 0 {
		return nil
	}
	return w.do(ctx, "bury for sink "+sink, func(ctx context.Context) error {
		gen, g, err := w.ix.sink(sink)
		if err != nil {
			return err
		}
		b := w.batch(nil)
		for _, burial := range burials {
			_, isDead := g.dead[burial.Seq]
			if !g.queue.has(burial.Seq) && !isDead {
				continue // not this sink's to bury
			}
			ops := []op{putJSON(deadKey(gen, burial.Seq), letter{Error: burial.Error, At: burial.At})}
			if g.queue.has(burial.Seq) {
				ops = append(ops, w.unqueue(gen, burial.Seq, 1)...)
			}
			if err := b.add(ctx, fmt.Sprint("change ", burial.Seq), ops...); err != nil {
				return err
			}
		}
		return b.done(ctx)
	})
}

// Redeliver puts a sink's dead letters back in its queue, under their own
// sequence numbers: the one whose change id is event, or every one when
// event is empty. Each goes back carrying its contact as it is now (see
// state.Store.Redeliver). It enables the sink again, and returns how
// many letters moved.
func (w *Workspace) Redeliver(ctx context.Context, sink, event string) (int, error) {
	moved := 0
	err := w.do(ctx, "redeliver to sink "+sink, func(ctx context.Context) error {
		gen, g, err := w.ix.sink(sink)
		if err != nil {
			return err
		}
		seqs := slices.Sorted(maps.Keys(g.dead))
		records, err := w.records(ctx, seqs)
		if err != nil {
			return err
		}
		var picked []int
		for i, r := range records {
			if event == "" || r.ID == event {
				picked = append(picked, i)
			}
		}
		if event != "" && len(picked) == 0 {
			return fmt.Errorf("dead letter %q: %w", event, state.ErrNotFound)
		}
		now, err := w.currentSnapshots(ctx, records, picked)
		if err != nil {
			return err
		}
		b := w.batch(nil)
		for _, i := range picked {
			seq, r := seqs[i], records[i]
			r.Refresh(now[i])
			refs := append(slices.Clone(w.ix.refs[seq]), gen)
			ops := []op{putJSON(changeKey(seq), r), putJSON(queueKey(seq), refs), del(deadKey(gen, seq))}
			if err := b.add(ctx, fmt.Sprint("change ", seq), ops...); err != nil {
				return err
			}
		}
		moved = len(picked)
		// The sink is enabled with the last chunk.
		return b.done(ctx, w.updateOp(sink, func(info *state.SinkInfo) { info.Disabled = "" }))
	})
	return moved, err
}

// currentSnapshots reads, for the picked records, their contact's snapshot
// as it is now (nil when the contact is gone).
func (w *Workspace) currentSnapshots(ctx context.Context, records []state.Record, picked []int) (map[int][]byte, error) {
	ids := make(map[int]string, len(picked))
	var all []string
	for _, i := range picked {
		c, err := contact.Parse(records[i].Contact)
		if err != nil {
			return nil, fmt.Errorf("change %s: %w", records[i].ID, err)
		}
		ids[i] = c.ID
		all = append(all, c.ID)
	}
	snaps, err := w.snapshots(ctx, all)
	if err != nil {
		return nil, err
	}
	now := make(map[int][]byte, len(picked))
	for i, id := range ids {
		now[i] = snaps[id]
	}
	return now, nil
}
