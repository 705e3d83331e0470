package boltstate

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/connect-sync/connect-sync/internal/state"

	bolt "go.etcd.io/bbolt"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// Commit records a batch of detected changes in one transaction: the new
// checkpoint and snapshot of each contact, and the change in the queue of
// every registered sink. Either all of it is stored or none, so a crash
// never separates a checkpoint from the deliveries it implies; contacts of a
// batch that did not commit are simply detected again by the next run.
func (w *Workspace) Commit(_ context.Context, batch []state.Detected) error {
	return w.update(func(ws space) error {
		queues, err := allQueues(ws)
		if err != nil {
			return err
		}
		contacts, snapshots := ws.Bucket(bucketContacts), ws.Bucket(bucketSnapshots)
		for _, d := range batch {
			id := []byte(d.Change.Contact.ID)
			if d.Entry == nil {
				err = errors.Join(contacts.Delete(id), snapshots.Delete(id))
			} else {
				err = errors.Join(contacts.Put(id, d.Entry.Encode()), snapshots.Put(id, d.Change.Contact.Raw))
			}
			if err != nil {
				return fmt.Errorf("state: checkpoint %s: %w", id, err)
			}
			if err := enqueue(ws, d.Change, queues); err != nil {
				return err
			}
		}
		return nil
	})
}

// Touch records new checkpoint entries, and nothing else: no change is
// queued.
func (w *Workspace) Touch(_ context.Context, batch []state.Touch) error {
	return w.update(func(ws space) error {
		contacts := ws.Bucket(bucketContacts)
		for _, t := range batch {
			if err := contacts.Put([]byte(t.ID), t.Entry.Encode()); err != nil {
				return fmt.Errorf("state: checkpoint %s: %w", t.ID, err)
			}
		}
		return nil
	})
}

// queued is the value of a queue entry; the key, a sequence number, is what
// matters. bbolt cannot tell an empty value from a missing key.
var queued = []byte{1}

// appendFill is the fill percent of buckets whose keys are sequence
// numbers: writes append, so pages split full rather than half full
// (bbolt's default), which halves the file a first sync writes.
const appendFill = 1.0

// enqueue stores one change record and references it from the queues.
// With no queue, nothing would ever read or remove the record, so it is
// not stored.
func enqueue(ws space, c contact.Change, queues []*bolt.Bucket) error {
	changes := ws.Bucket(bucketChanges)
	changes.FillPercent = appendFill
	seq, err := changes.NextSequence()
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if len(queues) == 0 {
		return nil
	}
	key := seqKey(seq)
	if err := putJSON(changes, key, state.NewRecord(c)); err != nil {
		return err
	}
	for _, q := range queues {
		q.FillPercent = appendFill
		if err := q.Put(key, queued); err != nil {
			return fmt.Errorf("state: enqueue: %w", err)
		}
	}
	return nil
}

// Enqueue queues changes for one sink only, in transactions of a bounded
// size.
func (w *Workspace) Enqueue(_ context.Context, sink string, changes []contact.Change) error {
	for chunk := range slices.Chunk(changes, 1000) {
		err := w.update(func(ws space) error {
			q, err := queue(ws, sink)
			if err != nil {
				return err
			}
			for _, c := range chunk {
				if err := enqueue(ws, c, []*bolt.Bucket{q}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Backfill queues a creation of every tracked contact for one sink, so that
// a sink added to the config (or reset) receives all current contacts. It
// works in transactions of a bounded size; newID names each change. When it
// is done it clears the sink's Backfilling mark, so an interrupted back-fill
// can be told from a finished one.
func (w *Workspace) Backfill(ctx context.Context, sink string, now time.Time, newID func() string) (int, error) {
	const perTx = 1000
	var after []byte
	total := 0
	for {
		n := 0
		err := w.update(func(ws space) error {
			q, err := queue(ws, sink)
			if err != nil {
				return err
			}
			c := ws.Bucket(bucketSnapshots).Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && n < perTx; k, v = c.Next() {
				cur, err := contact.Parse(v)
				if err != nil {
					return fmt.Errorf("state: snapshot %s: %w", k, err)
				}
				change := contact.Change{ID: newID(), Kind: contact.Created, DetectedAt: now, Contact: cur}
				if err := enqueue(ws, change, []*bolt.Bucket{q}); err != nil {
					return err
				}
				after = append(after[:0], k...)
				n++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < perTx {
			return total, w.UpdateSink(ctx, sink, func(info *state.SinkInfo) { info.Backfilling = false })
		}
	}
}

// Queue returns up to limit changes from a sink's queue, oldest first,
// starting after sequence number after (0 for the start).
func (w *Workspace) Queue(_ context.Context, sink string, after uint64, limit int) ([]state.Queued, error) {
	var out []state.Queued
	err := w.view(func(ws space) error {
		q, err := queue(ws, sink)
		if err != nil {
			return err
		}
		changes := ws.Bucket(bucketChanges)
		c := q.Cursor()
		for k, _ := c.Seek(seqKey(after + 1)); k != nil && len(out) < limit; k, _ = c.Next() {
			var r state.Record
			if err := getJSON(changes, k, &r); err != nil {
				return err
			}
			change, err := r.Change()
			if err != nil {
				return fmt.Errorf("state: change %x: %w", k, err)
			}
			out = append(out, state.Queued{Seq: binary.BigEndian.Uint64(k), Change: change})
		}
		return nil
	})
	return out, err
}

// Ack records that a sink acknowledged the given changes: they leave its
// queue, and a change record no other queue references is deleted.
func (w *Workspace) Ack(_ context.Context, sink string, seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	return w.update(func(ws space) error {
		q, err := queue(ws, sink)
		if err != nil {
			return err
		}
		refs, err := references(ws)
		if err != nil {
			return err
		}
		for _, seq := range seqs {
			key := seqKey(seq)
			if err := q.Delete(key); err != nil {
				return fmt.Errorf("state: ack: %w", err)
			}
			if err := collect(ws, refs, key); err != nil {
				return err
			}
		}
		return updateInfo(ws, sink, func(info *state.SinkInfo) { info.Delivered += uint64(len(seqs)) })
	})
}

// collect deletes a change record that no queue or dead letter references
// any more.
func collect(ws space, refs []*bolt.Bucket, key []byte) error {
	for _, r := range refs {
		if r.Get(key) != nil {
			return nil
		}
	}
	return ws.Bucket(bucketChanges).Delete(key)
}
