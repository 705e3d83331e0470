package boltstate

import (
	"bytes"
	"context"
	"fmt"

	"github.com/connect-sync/connect-sync/internal/state"

	bolt "go.etcd.io/bbolt"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Memo is one sink's sinks.Memo, in the sink's bucket: it goes when the
// sink is dropped or registered again.
type Memo struct {
	ws   *Workspace
	sink []byte
}

// Memo returns the memo of a sink.
func (w *Workspace) Memo(sink string) sinks.Memo { return &Memo{ws: w, sink: []byte(sink)} }

// Get returns the contact's value, nil when there is none.
func (m *Memo) Get(_ context.Context, contactID string) ([]byte, error) {
	var v []byte
	err := m.ws.view(func(ws space) error {
		b, err := m.bucket(ws)
		if err == nil && b != nil {
			v = bytes.Clone(b.Get([]byte(contactID)))
		}
		return err
	})
	return v, err
}

// Put sets the contact's value.
func (m *Memo) Put(_ context.Context, contactID string, value []byte) error {
	return m.ws.update(func(ws space) error {
		sink := ws.Bucket(bucketSinks).Bucket(m.sink)
		if sink == nil {
			return fmt.Errorf("state: sink %s: %w", m.sink, state.ErrNotFound)
		}
		b, err := sink.CreateBucketIfNotExists(keyMemo)
		if err != nil {
			return fmt.Errorf("state: memo: %w", err)
		}
		return b.Put([]byte(contactID), value)
	})
}

// Delete forgets the contact's value.
func (m *Memo) Delete(_ context.Context, contactID string) error {
	return m.ws.update(func(ws space) error {
		b, err := m.bucket(ws)
		if err != nil || b == nil {
			return err
		}
		return b.Delete([]byte(contactID))
	})
}

// Len counts the contacts with a value.
func (m *Memo) Len(_ context.Context) (int, error) {
	n := 0
	err := m.ws.view(func(ws space) error {
		b, err := m.bucket(ws)
		if err == nil && b != nil {
			n = b.Stats().KeyN
		}
		return err
	})
	return n, err
}

// bucket returns the memo's bucket, nil before the first Put.
func (m *Memo) bucket(ws space) (*bolt.Bucket, error) {
	sink := ws.Bucket(bucketSinks).Bucket(m.sink)
	if sink == nil {
		return nil, fmt.Errorf("state: sink %s: %w", m.sink, state.ErrNotFound)
	}
	return sink.Bucket(keyMemo), nil
}
