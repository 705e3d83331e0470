package boltstate

import (
	"context"
	"time"

	"github.com/connect-sync/connect-sync/internal/state"
)

// RecordRun stores the last run's record, and when it succeeded, its time
// as the last success.
func (w *Workspace) RecordRun(_ context.Context, r state.Run) error {
	return w.update(func(ws space) error {
		meta := ws.Bucket(bucketMeta)
		if r.Result == state.RunSucceeded {
			if err := putJSON(meta, keyLastSuccess, r.FinishedAt); err != nil {
				return err
			}
		}
		return putJSON(meta, keyLastRun, r)
	})
}

// Status reads the status from the state file, sinks in name order.
func (w *Workspace) Status(_ context.Context) (state.Status, error) {
	st := state.Status{Workspace: w.name}
	err := w.view(func(ws space) error {
		meta := ws.Bucket(bucketMeta)
		if meta.Get(keyLastRun) != nil {
			st.LastRun = new(state.Run)
			if err := getJSON(meta, keyLastRun, st.LastRun); err != nil {
				return err
			}
		}
		if meta.Get(keyLastSuccess) != nil {
			st.LastSuccessAt = new(time.Time)
			if err := getJSON(meta, keyLastSuccess, st.LastSuccessAt); err != nil {
				return err
			}
		}
		st.Contacts = ws.Bucket(bucketContacts).Stats().KeyN
		sinks := ws.Bucket(bucketSinks)
		return sinks.ForEachBucket(func(name []byte) error {
			b := sinks.Bucket(name)
			var info state.SinkInfo
			if err := getJSON(b, keyInfo, &info); err != nil {
				return err
			}
			s := state.SinkStatus{
				Name:          string(name),
				Type:          info.Type,
				Delivered:     info.Delivered,
				Pending:       b.Bucket(keyQueue).Stats().KeyN,
				LastError:     info.LastError,
				LastSuccessAt: info.LastSuccessAt,
				Disabled:      info.Disabled,
				LastDrift:     info.LastDrift,
				Failures:      info.Failures,
			}
			if dead := b.Bucket(keyDead); dead != nil {
				s.DeadLetters = dead.Stats().KeyN
				c := dead.Cursor()
				for k, v := c.First(); k != nil && len(s.DeadLetterList) < state.StatusDeadLetters; k, v = c.Next() {
					l, err := readLetter(ws, k, v)
					if err != nil {
						return err
					}
					s.DeadLetterList = append(s.DeadLetterList, l)
				}
			}
			st.Sinks = append(st.Sinks, s)
			return nil
		})
	})
	return st, err
}
