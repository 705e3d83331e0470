package boltstate

import (
	"context"
	"fmt"

	"github.com/connect-sync/connect-sync/internal/state"

	bolt "go.etcd.io/bbolt"
)

// Sinks returns every registered sink by name.
func (w *Workspace) Sinks(_ context.Context) (map[string]state.SinkInfo, error) {
	out := make(map[string]state.SinkInfo)
	err := w.view(func(ws space) error {
		return ws.Bucket(bucketSinks).ForEachBucket(func(name []byte) error {
			var info state.SinkInfo
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
func (w *Workspace) RegisterSink(_ context.Context, name string, info state.SinkInfo) error {
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
func (w *Workspace) DropSink(_ context.Context, name string) error {
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
func (w *Workspace) UpdateSink(_ context.Context, name string, update func(*state.SinkInfo)) error {
	return w.update(func(ws space) error { return updateInfo(ws, name, update) })
}

// Pending counts the changes a sink has not acknowledged yet.
func (w *Workspace) Pending(_ context.Context, name string) (int, error) {
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

func updateInfo(ws space, name string, update func(*state.SinkInfo)) error {
	b := ws.Bucket(bucketSinks).Bucket([]byte(name))
	if b == nil {
		return fmt.Errorf("state: sink %s: %w", name, state.ErrNotFound)
	}
	var info state.SinkInfo
	if err := getJSON(b, keyInfo, &info); err != nil {
		return err
	}
	update(&info)
	return putJSON(b, keyInfo, info)
}

func queue(ws space, sink string) (*bolt.Bucket, error) {
	b := ws.Bucket(bucketSinks).Bucket([]byte(sink))
	if b == nil {
		return nil, fmt.Errorf("state: sink %s: %w", sink, state.ErrNotFound)
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
