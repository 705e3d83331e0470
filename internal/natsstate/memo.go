package natsstate

import (
	"bytes"
	"context"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Memo is one sink's sinks.Memo, kept with the sink's generation: it goes
// when the sink is dropped or registered again. Values are in memory,
// loaded with the workspace, and each Put or Delete is one write.
type Memo struct {
	w    *Workspace
	sink string
}

// Memo returns the memo of a sink.
func (w *Workspace) Memo(sink string) sinks.Memo { return &Memo{w: w, sink: sink} }

// Get returns the contact's value, nil when there is none.
func (m *Memo) Get(ctx context.Context, contactID string) ([]byte, error) {
	var v []byte
	err := m.w.do(ctx, "memo of sink "+m.sink, func(ctx context.Context) error {
		_, g, err := m.w.ix.sink(m.sink)
		if err == nil {
			v = bytes.Clone(g.memo[contactID])
		}
		return err
	})
	return v, err
}

// Put sets the contact's value.
func (m *Memo) Put(ctx context.Context, contactID string, value []byte) error {
	return m.w.do(ctx, "memo of sink "+m.sink, func(ctx context.Context) error {
		gen, _, err := m.w.ix.sink(m.sink)
		if err != nil {
			return err
		}
		if value == nil {
			value = []byte{}
		}
		return m.w.set(ctx, put(memoKey(gen, contactID), bytes.Clone(value)))
	})
}

// Delete forgets the contact's value.
func (m *Memo) Delete(ctx context.Context, contactID string) error {
	return m.w.do(ctx, "memo of sink "+m.sink, func(ctx context.Context) error {
		gen, g, err := m.w.ix.sink(m.sink)
		if err != nil {
			return err
		}
		if _, ok := g.memo[contactID]; !ok {
			return nil
		}
		return m.w.set(ctx, del(memoKey(gen, contactID)))
	})
}

// Len counts the contacts with a value.
func (m *Memo) Len(ctx context.Context) (int, error) {
	n := 0
	err := m.w.do(ctx, "memo of sink "+m.sink, func(ctx context.Context) error {
		_, g, err := m.w.ix.sink(m.sink)
		if err == nil {
			n = len(g.memo)
		}
		return err
	})
	return n, err
}
