package natsstate

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// RecordRun stores the last run's record, and when it succeeded, its time
// as the last success.
func (w *Workspace) RecordRun(ctx context.Context, r state.Run) error {
	return w.do(ctx, "record run", func(ctx context.Context) error {
		m := w.ix.meta
		m.LastRun = &r
		if r.Result == state.RunSucceeded {
			m.LastSuccess = &r.FinishedAt
		}
		if err := w.set(ctx, putJSON(keyMeta, m)); err != nil {
			return err
		}
		// A run is over: a good time to remove the markers it left.
		return w.compactIfDue(ctx)
	})
}

// Status returns the workspace's status, sinks in name order.
func (w *Workspace) Status(ctx context.Context) (state.Status, error) {
	st := state.Status{Workspace: w.name}
	err := w.do(ctx, "status", func(ctx context.Context) error {
		if r := w.ix.meta.LastRun; r != nil {
			run := *r
			st.LastRun = &run
		}
		if t := w.ix.meta.LastSuccess; t != nil {
			at := *t
			st.LastSuccessAt = &at
		}
		st.Contacts = len(w.ix.entries)
		for _, name := range slices.Sorted(maps.Keys(w.ix.sinks)) {
			s, err := w.sinkStatus(ctx, name)
			if err != nil {
				return err
			}
			st.Sinks = append(st.Sinks, s)
		}
		return nil
	})
	return st, err
}

func (w *Workspace) sinkStatus(ctx context.Context, name string) (state.SinkStatus, error) {
	info, err := w.info(name)
	if err != nil {
		return state.SinkStatus{}, err
	}
	_, g, _ := w.ix.sink(name)
	s := state.SinkStatus{
		Name:          name,
		Type:          info.Type,
		Delivered:     info.Delivered,
		Pending:       g.queue.len(),
		DeadLetters:   len(g.dead),
		LastError:     info.LastError,
		LastSuccessAt: info.LastSuccessAt,
		Disabled:      info.Disabled,
		LastDrift:     info.LastDrift,
		Failures:      info.Failures,
	}
	seqs := slices.Sorted(maps.Keys(g.dead))
	seqs = seqs[:min(len(seqs), state.StatusDeadLetters)]
	records, err := w.records(ctx, seqs)
	if err != nil {
		return s, fmt.Errorf("sink %s: dead letters: %w", name, err)
	}
	for i, r := range records {
		c, err := contact.Parse(r.Contact)
		if err != nil {
			return s, fmt.Errorf("sink %s: dead letter %d: %w", name, seqs[i], err)
		}
		l := g.dead[seqs[i]]
		s.DeadLetterList = append(s.DeadLetterList, state.DeadLetter{Event: r.ID, Contact: c.ID, Kind: r.Kind, Error: l.Error, At: l.At})
	}
	return s, nil
}
