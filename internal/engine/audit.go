package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"
)

// ErrDrift means a destination differs from the source and was left so
// (on_drift: report).
var ErrDrift = errors.New("the destination differs from the source")

// audit looks at the destination of a sink that can read it back, before
// its queue is delivered, and queues what repairs it; full when the sink
// starts over (a back-fill) or a verify asks, else the sink may trust its
// seal. An audit that fails stops the sink for the run, as a destination
// that cannot be read cannot be written either.
func (d *drain) audit(ctx context.Context, a sinks.Auditor, seal []byte, full bool) error {
	want := &wanted{store: d.engine.Store, sink: d.sink.Name}
	drift, err := a.Audit(ctx, want, seal, full)
	if err != nil {
		return err
	}
	if drift.Len() == 0 {
		return nil
	}
	d.report.Drift = drift
	repair := d.sink.OnDrift != sinks.OnDriftReport
	d.drift = &state.Drift{
		At: d.engine.now(), Missing: len(drift.Missing), Modified: len(drift.Modified), Extra: len(drift.Extra), Repaired: repair,
	}
	d.logDrift(drift, repair)
	if !repair {
		return fmt.Errorf("%w: %d missing, %d modified, %d left over (on_drift: report leaves it so)",
			ErrDrift, len(drift.Missing), len(drift.Modified), len(drift.Extra))
	}
	changes, err := d.repairs(ctx, want, drift)
	if err != nil {
		return err
	}
	return d.engine.Store.Enqueue(ctx, d.sink.Name, changes)
}

// logDrift logs each contact that drifted, once: where it is handled.
func (d *drain) logDrift(drift sinks.Drift, repair bool) {
	msg := "destination drifted from the source: repairing"
	if !repair {
		msg = "destination drifted from the source: left as it is (on_drift: report)"
	}
	for _, k := range []struct {
		kind string
		ids  []string
	}{{"missing", drift.Missing}, {"modified", drift.Modified}, {"extra", drift.Extra}} {
		for _, id := range k.ids {
			d.engine.Logger.Warn(msg, "sink", d.sink.Name, "contact", id, "drift", k.kind)
		}
	}
}

// repairs are the changes that make the destination equal the source
// again: a creation of each contact missing, an update of each modified,
// each carrying the contact as the source last sent it, and a deletion of
// each left over.
func (d *drain) repairs(ctx context.Context, want *wanted, drift sinks.Drift) ([]contact.Change, error) {
	now := d.engine.now()
	var changes []contact.Change
	for _, k := range []struct {
		kind contact.Kind
		ids  []string
	}{{contact.Created, drift.Missing}, {contact.Updated, drift.Modified}} {
		for page := range slices.Chunk(k.ids, commitBatch) {
			list, err := want.Contacts(ctx, page)
			if err != nil {
				return nil, err
			}
			for _, c := range list {
				changes = append(changes, contact.Change{ID: newChangeID(), Kind: k.kind, DetectedAt: now, Contact: c})
			}
		}
	}
	for _, id := range drift.Extra {
		raw, err := json.Marshal(struct {
			ID string `json:"id"`
		}{id})
		if err == nil {
			var c contact.Contact
			if c, err = contact.Parse(raw); err == nil {
				changes = append(changes, contact.Change{ID: newChangeID(), Kind: contact.Deleted, DetectedAt: now, Contact: c, Previous: &c})
				continue
			}
		}
		return nil, fmt.Errorf("contact %s: %w", id, err)
	}
	return changes, nil
}

// wanted is the sinks.Want of one sink, read from the state as the audit
// asks: a trusted seal asks nothing.
type wanted struct {
	store  state.Store
	sink   string
	queued map[string]bool // the contacts with changes queued, once read
}

func (w *wanted) IDs(ctx context.Context) ([]string, error) {
	ids, err := w.store.IDs(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := w.Queued(ctx, ""); err != nil { // reads the queue
		return nil, err
	}
	if len(w.queued) == 0 {
		return ids, nil
	}
	return slices.DeleteFunc(ids, func(id string) bool { return w.queued[id] }), nil
}

func (w *wanted) Queued(ctx context.Context, id string) (bool, error) {
	if w.queued == nil {
		queued := map[string]bool{}
		var after uint64
		for {
			page, err := w.store.Queue(ctx, w.sink, after, deliverBatch)
			if err != nil {
				return false, err
			}
			if len(page) == 0 {
				break
			}
			for _, q := range page {
				queued[q.Change.Contact.ID] = true
			}
			after = page[len(page)-1].Seq
		}
		w.queued = queued
	}
	return w.queued[id], nil
}

func (w *wanted) Contacts(ctx context.Context, ids []string) ([]contact.Contact, error) {
	snaps, err := w.store.Snapshots(ctx, ids)
	if err != nil {
		return nil, err
	}
	list := make([]contact.Contact, 0, len(ids))
	for _, id := range ids {
		raw, ok := snaps[id]
		if !ok {
			continue // gone since: not the source's any more
		}
		c, err := contact.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("snapshot of contact %s: %w", id, err)
		}
		list = append(list, c)
	}
	return list, nil
}

var _ sinks.Want = (*wanted)(nil)
