package natsstate

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/connect-sync/connect-sync/internal/state"
)

// Sinks returns every registered sink by name.
func (w *Workspace) Sinks(ctx context.Context) (map[string]state.SinkInfo, error) {
	out := make(map[string]state.SinkInfo)
	err := w.do(ctx, "sinks", func(ctx context.Context) error {
		for name := range w.ix.sinks {
			info, err := w.info(name)
			if err != nil {
				return err
			}
			out[name] = info
		}
		return nil
	})
	return out, err
}

// info decodes a registered sink's record.
func (w *Workspace) info(name string) (state.SinkInfo, error) {
	var info state.SinkInfo
	if err := json.Unmarshal(w.ix.sinks[name].Info, &info); err != nil {
		return info, fmt.Errorf("sink %s: %w", name, err)
	}
	return info, nil
}

// updateOp returns the put of a registered sink's record, changed.
func (w *Workspace) updateOp(name string, update func(*state.SinkInfo)) op {
	r := w.ix.sinks[name]
	var info state.SinkInfo
	// The record was decoded when it was loaded or written.
	_ = json.Unmarshal(r.Info, &info)
	update(&info)
	r.Info, _ = json.Marshal(info)
	return putJSON(sinkKey(name), r)
}

// RegisterSink starts tracking a sink with an empty queue, under a new
// generation: what an earlier registration of the name had is dropped.
func (w *Workspace) RegisterSink(ctx context.Context, name string, info state.SinkInfo) error {
	return w.do(ctx, "register sink "+name, func(ctx context.Context) error {
		raw, err := json.Marshal(info)
		if err != nil {
			return err
		}
		gen := w.ix.nextGen()
		b := w.batch(nil)
		if err := b.add(ctx, "sink "+name, putJSON(sinkKey(name), sinkRecord{Gen: gen, Info: raw}), putJSON(keyMeta, w.ix.meta)); err != nil {
			return err
		}
		if err := b.done(ctx); err != nil {
			return err
		}
		return w.collect(ctx)
	})
}

// DropSink forgets a sink: its queue, dead letters, memo and record. The
// record goes first, in one write; the rest is then garbage, collected at
// once (and, after a crash, when the workspace is opened again).
func (w *Workspace) DropSink(ctx context.Context, name string) error {
	return w.do(ctx, "drop sink "+name, func(ctx context.Context) error {
		if _, ok := w.ix.sinks[name]; !ok {
			return nil
		}
		b := w.batch(nil)
		if err := b.add(ctx, "sink "+name, del(sinkKey(name))); err != nil {
			return err
		}
		if err := b.done(ctx); err != nil {
			return err
		}
		return w.collect(ctx)
	})
}

// collect removes what generations no sink has any more left: their
// queue entries, dead letters and memos, and the change records nothing
// else needs.
func (w *Workspace) collect(ctx context.Context) error {
	for _, gen := range w.ix.garbage() {
		g := w.ix.gens[gen]
		b := w.batch(nil)
		for _, seq := range g.queue.all() {
			if err := b.add(ctx, fmt.Sprint("change ", seq), w.unqueue(gen, seq, 0)...); err != nil {
				return err
			}
		}
		for _, seq := range slices.Sorted(maps.Keys(g.dead)) {
			ops := []op{del(deadKey(gen, seq))}
			if len(w.ix.refs[seq]) == 0 && w.ix.dead[seq] == 1 {
				ops = append(ops, del(changeKey(seq)))
			}
			if err := b.add(ctx, fmt.Sprint("dead letter ", seq), ops...); err != nil {
				return err
			}
		}
		for _, id := range slices.Sorted(maps.Keys(g.memo)) {
			if err := b.add(ctx, "memo "+id, del(memoKey(gen, id))); err != nil {
				return err
			}
		}
		if err := b.done(ctx); err != nil {
			return err
		}
	}
	return nil
}

// UpdateSink changes a sink's record.
func (w *Workspace) UpdateSink(ctx context.Context, name string, update func(*state.SinkInfo)) error {
	return w.do(ctx, "update sink "+name, func(ctx context.Context) error {
		if _, ok := w.ix.sinks[name]; !ok {
			return fmt.Errorf("sink %s: %w", name, state.ErrNotFound)
		}
		return w.set(ctx, w.updateOp(name, update))
	})
}

// Pending counts the changes a sink has not acknowledged yet.
func (w *Workspace) Pending(ctx context.Context, name string) (int, error) {
	n := 0
	err := w.do(ctx, "pending of sink "+name, func(ctx context.Context) error {
		_, g, err := w.ix.sink(name)
		if err != nil {
			return err
		}
		n = g.queue.len()
		return nil
	})
	return n, err
}
