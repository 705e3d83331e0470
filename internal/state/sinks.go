package state

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SinkInfo is what the state file knows of one sink.
type SinkInfo struct {
	// Type and Target identify the destination; when either changes in the
	// config, the sink starts over with a back-fill.
	Type   string `json:"type"`
	Target string `json:"target"`
	// Format is what the sink writes there (a vCard version); when it
	// changes, the sink is sent every contact again.
	Format string `json:"format,omitempty"`
	// Backfilling is set while the back-fill of a new sink is under way;
	// a sink still marked after a crash is back-filled again from scratch.
	Backfilling bool `json:"backfilling,omitempty"`
	// Disabled says why the destination asked never to be sent to again
	// (an HTTP 410); nothing is delivered to it until `redeliver` or a
	// new target.
	Disabled      string     `json:"disabled,omitempty"`
	Delivered     uint64     `json:"delivered"`
	LastError     string     `json:"last_error,omitempty"`
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
	// Failures lists the contacts whose changes the sink refused in its
	// last run; they stay queued and are tried again.
	Failures []Failure `json:"failures,omitempty"`
}

// Failure is a contact a sink could not take, and why.
type Failure struct {
	Contact string `json:"contact"`
	Error   string `json:"error"`
}

// Sinks returns every registered sink by name.
func (w *Workspace) Sinks() (map[string]SinkInfo, error) {
	out := make(map[string]SinkInfo)
	err := w.view(func(ws space) error {
		return ws.Bucket(bucketSinks).ForEachBucket(func(name []byte) error {
			var info SinkInfo
			if err := getJSON(ws.Bucket(bucketSinks).Bucket(name), keyInfo, &info); err != nil {
				return err
			}
			out[string(name)] = info
			return nil
		})
	})
	return out, err
}

// RegisterSink starts tracking a sink with an empty queue. A sink of the
// same name that was registered before is dropped first.
func (w *Workspace) RegisterSink(name string, info SinkInfo) error {
	return w.update(func(ws space) error {
		if err := dropSink(ws, name); err != nil {
			return err
		}
		b, err := ws.Bucket(bucketSinks).CreateBucket([]byte(name))
		if err != nil {
			return fmt.Errorf("state: register sink %s: %w", name, err)
		}
		if _, err := b.CreateBucket(keyQueue); err != nil {
			return fmt.Errorf("state: register sink %s: %w", name, err)
		}
		return putJSON(b, keyInfo, info)
	})
}

// DropSink forgets a sink: its queue and delivery record. The next run that
// has it in the config registers it again and back-fills it.
func (w *Workspace) DropSink(name string) error {
	return w.update(func(ws space) error { return dropSink(ws, name) })
}

func dropSink(ws space, name string) error {
	sinks := ws.Bucket(bucketSinks)
	b := sinks.Bucket([]byte(name))
	if b == nil {
		return nil
	}
	var keys [][]byte
	for _, refs := range []*bolt.Bucket{b.Bucket(keyQueue), b.Bucket(keyDead)} {
		if refs == nil {
			continue
		}
		if err := refs.ForEach(func(k, _ []byte) error {
			keys = append(keys, k)
			return nil
		}); err != nil {
			return err
		}
	}
	if err := sinks.DeleteBucket([]byte(name)); err != nil {
		return fmt.Errorf("state: drop sink %s: %w", name, err)
	}
	refs, err := references(ws)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := collect(ws, refs, k); err != nil {
			return err
		}
	}
	return nil
}

// UpdateSink changes a sink's record.
func (w *Workspace) UpdateSink(name string, update func(*SinkInfo)) error {
	return w.update(func(ws space) error { return updateInfo(ws, name, update) })
}

// Pending counts the changes a sink has not acknowledged yet.
func (w *Workspace) Pending(name string) (int, error) {
	n := 0
	err := w.view(func(ws space) error {
		q, err := queue(ws, name)
		if err != nil {
			return err
		}
		n = q.Stats().KeyN
		return nil
	})
	return n, err
}

func updateInfo(ws space, name string, update func(*SinkInfo)) error {
	b := ws.Bucket(bucketSinks).Bucket([]byte(name))
	if b == nil {
		return fmt.Errorf("state: sink %s: %w", name, ErrNotFound)
	}
	var info SinkInfo
	if err := getJSON(b, keyInfo, &info); err != nil {
		return err
	}
	update(&info)
	return putJSON(b, keyInfo, info)
}

func queue(ws space, sink string) (*bolt.Bucket, error) {
	b := ws.Bucket(bucketSinks).Bucket([]byte(sink))
	if b == nil {
		return nil, fmt.Errorf("state: sink %s: %w", sink, ErrNotFound)
	}
	return b.Bucket(keyQueue), nil
}

// references returns every bucket that keeps change records alive: the
// queues and the dead letters.
func references(ws space) ([]*bolt.Bucket, error) {
	var refs []*bolt.Bucket
	sinks := ws.Bucket(bucketSinks)
	err := sinks.ForEachBucket(func(name []byte) error {
		refs = append(refs, sinks.Bucket(name).Bucket(keyQueue))
		if dead := sinks.Bucket(name).Bucket(keyDead); dead != nil {
			refs = append(refs, dead)
		}
		return nil
	})
	return refs, err
}

func allQueues(ws space) ([]*bolt.Bucket, error) {
	var queues []*bolt.Bucket
	sinks := ws.Bucket(bucketSinks)
	err := sinks.ForEachBucket(func(name []byte) error {
		queues = append(queues, sinks.Bucket(name).Bucket(keyQueue))
		return nil
	})
	return queues, err
}
