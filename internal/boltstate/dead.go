package boltstate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/connect-sync/connect-sync/internal/state"

	bolt "go.etcd.io/bbolt"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// letter is how a dead letter's reason is stored; the key is the change's
// sequence number, whose record stays in the changes bucket.
type letter struct {
	Error string    `json:"error"`
	At    time.Time `json:"at"`
}

// Bury moves changes from a sink's queue to its dead letters.
func (w *Workspace) Bury(_ context.Context, sink string, burials []state.Burial) error {
	if len(burials) == 0 {
		return nil
	}
	return w.update(func(ws space) error {
		q, err := queue(ws, sink)
		if err != nil {
			return err
		}
		dead, err := ws.Bucket(bucketSinks).Bucket([]byte(sink)).CreateBucketIfNotExists(keyDead)
		if err != nil {
			return fmt.Errorf("state: bury: %w", err)
		}
		for _, b := range burials {
			key := seqKey(b.Seq)
			if err := putJSON(dead, key, letter{Error: b.Error, At: b.At}); err != nil {
				return err
			}
			if err := q.Delete(key); err != nil {
				return fmt.Errorf("state: bury: %w", err)
			}
		}
		return nil
	})
}

// Redeliver puts a sink's dead letters back in its queue: the one whose
// change id is event, or every one when event is empty. It enables the
// sink again if it was disabled, and returns how many letters moved.
//
// A letter may be older than changes of its contact delivered since (a
// dead letter does not hold its contact back), so sending it as it was
// would put stale data over newer. It goes back carrying the contact as
// it is now instead, under its own id: a creation or update of the
// current snapshot, or a deletion when the contact is gone.
func (w *Workspace) Redeliver(_ context.Context, sink, event string) (int, error) {
	moved := 0
	err := w.update(func(ws space) error {
		q, err := queue(ws, sink)
		if err != nil {
			return err
		}
		if dead := deadBucket(ws, sink); dead != nil {
			var keys [][]byte
			err := dead.ForEach(func(k, v []byte) error {
				l, err := readLetter(ws, k, v)
				if err != nil {
					return err
				}
				if event == "" || l.Event == event {
					keys = append(keys, k)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range keys {
				if err := refresh(ws, k); err != nil {
					return err
				}
				if err := q.Put(k, queued); err != nil {
					return fmt.Errorf("state: redeliver: %w", err)
				}
				if err := dead.Delete(k); err != nil {
					return fmt.Errorf("state: redeliver: %w", err)
				}
			}
			moved = len(keys)
		}
		if event != "" && moved == 0 {
			return fmt.Errorf("state: sink %s, dead letter %q: %w", sink, event, state.ErrNotFound)
		}
		return updateInfo(ws, sink, func(info *state.SinkInfo) { info.Disabled = "" })
	})
	return moved, err
}

// refresh rewrites a change record to carry its contact as it is now.
func refresh(ws space, key []byte) error {
	changes := ws.Bucket(bucketChanges)
	var r state.Record
	if err := getJSON(changes, key, &r); err != nil {
		return err
	}
	c, err := contact.Parse(r.Contact)
	if err != nil {
		return fmt.Errorf("state: dead letter %d: %w", binary.BigEndian.Uint64(key), err)
	}
	r.Refresh(ws.Bucket(bucketSnapshots).Get([]byte(c.ID)))
	return putJSON(changes, key, r)
}

func deadBucket(ws space, sink string) *bolt.Bucket {
	b := ws.Bucket(bucketSinks).Bucket([]byte(sink))
	if b == nil {
		return nil
	}
	return b.Bucket(keyDead)
}

// readLetter joins a dead letter with its change record.
func readLetter(ws space, key, value []byte) (state.DeadLetter, error) {
	var l letter
	if err := json.Unmarshal(value, &l); err != nil {
		return state.DeadLetter{}, fmt.Errorf("state: dead letter %d: %w", binary.BigEndian.Uint64(key), err)
	}
	var r state.Record
	if err := getJSON(ws.Bucket(bucketChanges), key, &r); err != nil {
		return state.DeadLetter{}, err
	}
	c, err := contact.Parse(r.Contact)
	if err != nil {
		return state.DeadLetter{}, fmt.Errorf("state: dead letter %d: %w", binary.BigEndian.Uint64(key), err)
	}
	return state.DeadLetter{Event: r.ID, Contact: c.ID, Kind: r.Kind, Error: l.Error, At: l.At}, nil
}
