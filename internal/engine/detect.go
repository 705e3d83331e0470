package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Plan is what one complete fetch changed against the checkpoint.
type Plan struct {
	// Fetched counts the contacts the source returned; Tracked, those the
	// checkpoint knew before.
	Fetched, Tracked int
	// Changes are in the order they will be queued: creations and updates
	// in the source's order, then deletions by id.
	Changes []state.Detected
}

// Count returns how many changes of a kind the plan holds.
func (p *Plan) Count(kind contact.Kind) int {
	n := 0
	for _, d := range p.Changes {
		if d.Change.Kind == kind {
			n++
		}
	}
	return n
}

// Checkpoint is the part of the state that detection reads.
type Checkpoint interface {
	Checkpoint() (map[string]state.Entry, error)
	Snapshots(ids []string) (map[string]json.RawMessage, error)
}

// Detect fetches every contact and works out what changed since the
// checkpoint. It writes nothing. Any failure of the fetch fails the whole
// detection: a partial list is never taken for the full one.
func (e *Engine) Detect(ctx context.Context, query string, cp Checkpoint) (*Plan, error) {
	statuses, err := e.Source.LeadStatuses(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch lead statuses: %w", err)
	}
	entries, err := cp.Checkpoint()
	if err != nil {
		return nil, err
	}
	d := differ{checkpoint: entries, seen: make(map[string]bool, len(entries))}
	var changed []fetched
	err = e.Source.Contacts(ctx, query, func(raw json.RawMessage) error {
		f, err := reduce(raw)
		if err != nil {
			e.Logger.Warn("skipping a contact the API sent without a usable id", "error", err)
			return nil
		}
		if d.observe(f) {
			changed = append(changed, f)
		}
		e.progress(StageFetched, len(d.seen))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fetch contacts: %w", err)
	}
	return d.plan(changed, enricher(statuses), cp, e.now())
}

// fetched is one contact from the source, reduced to what the diff needs.
type fetched struct {
	id     string
	entry  state.Entry
	fields map[string]json.RawMessage
}

// reduce parses a contact just enough to identify and fingerprint it.
func reduce(raw json.RawMessage) (fetched, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return fetched{}, err
	}
	id := contact.Text(fields["id"])
	if id == "" {
		return fetched{}, fmt.Errorf("contact without id")
	}
	return fetched{
		id:     id,
		entry:  state.Entry{Hash: contentHash(fields), LastActivityAt: contact.Text(fields["lastActivityAt"])},
		fields: fields,
	}, nil
}

// contentHash fingerprints a contact's content, independent of key order
// and whitespace. lastActivityAt is left out (it is compared on its own),
// and a null field counts as a missing one.
func contentHash(fields map[string]json.RawMessage) [16]byte {
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		if k != "lastActivityAt" && !isNull(v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	var buf bytes.Buffer
	for _, k := range keys {
		buf.Reset()
		if json.Compact(&buf, fields[k]) != nil {
			buf.Write(fields[k])
		}
		fmt.Fprintf(h, "%q:%d:", k, buf.Len())
		h.Write(buf.Bytes())
	}
	var sum [16]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func isNull(v json.RawMessage) bool {
	return len(bytes.TrimSpace(v)) == 0 || string(bytes.TrimSpace(v)) == "null"
}

// differ compares a stream of fetched contacts against the checkpoint.
type differ struct {
	checkpoint map[string]state.Entry
	seen       map[string]bool
}

// observe records a fetched contact and reports whether it is new or
// changed: its lastActivityAt moved or its content differs.
func (d *differ) observe(f fetched) bool {
	if d.seen[f.id] {
		return false // the API listed it twice; the first copy counts
	}
	d.seen[f.id] = true
	old, known := d.checkpoint[f.id]
	return !known || old != f.entry
}

// deleted lists the tracked contacts the fetch did not return, by id.
func (d *differ) deleted() []string {
	var ids []string
	for id := range d.checkpoint {
		if !d.seen[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// plan turns the observed differences into changes, reading the previous
// snapshots of updated and deleted contacts.
func (d *differ) plan(changed []fetched, enrich func(map[string]json.RawMessage), cp Checkpoint, now time.Time) (*Plan, error) {
	deleted := d.deleted()
	ids := slices.Clone(deleted)
	for _, f := range changed {
		if _, known := d.checkpoint[f.id]; known {
			ids = append(ids, f.id)
		}
	}
	previous, err := cp.Snapshots(ids)
	if err != nil {
		return nil, err
	}
	p := &Plan{Fetched: len(d.seen), Tracked: len(d.checkpoint)}
	for _, f := range changed {
		enrich(f.fields)
		c, err := newChange(f.fields, previous[f.id], now)
		if err != nil {
			return nil, err
		}
		entry := f.entry
		p.Changes = append(p.Changes, state.Detected{Change: c, Entry: &entry})
	}
	for _, id := range deleted {
		snap, err := contact.Parse(previous[id])
		if err != nil {
			return nil, fmt.Errorf("snapshot of contact %s: %w", id, err)
		}
		c := contact.Change{ID: newChangeID(), Kind: contact.Deleted, DetectedAt: now, Contact: snap, Previous: &snap}
		p.Changes = append(p.Changes, state.Detected{Change: c})
	}
	return p, nil
}

func newChange(fields map[string]json.RawMessage, previous json.RawMessage, now time.Time) (contact.Change, error) {
	raw, err := json.Marshal(fields)
	if err != nil {
		return contact.Change{}, err
	}
	cur, err := contact.Parse(raw)
	if err != nil {
		return contact.Change{}, err
	}
	c := contact.Change{ID: newChangeID(), Kind: contact.Created, DetectedAt: now, Contact: cur}
	if previous == nil {
		return c, nil
	}
	prev, err := contact.Parse(previous)
	if err != nil {
		return contact.Change{}, fmt.Errorf("snapshot of contact %s: %w", cur.ID, err)
	}
	c.Kind, c.Previous = contact.Updated, &prev
	c.ChangedFields, err = changedFields(previous, fields)
	return c, err
}

// changedFields lists the top-level fields whose values differ, sorted.
func changedFields(previous json.RawMessage, current map[string]json.RawMessage) ([]string, error) {
	var before map[string]json.RawMessage
	if err := json.Unmarshal(previous, &before); err != nil {
		return nil, err
	}
	var names []string
	for k, v := range current {
		if !sameJSON(before[k], v) {
			names = append(names, k)
		}
	}
	for k, v := range before {
		if _, ok := current[k]; !ok && !isNull(v) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names, nil
}

func sameJSON(a, b json.RawMessage) bool {
	if isNull(a) || isNull(b) {
		return isNull(a) == isNull(b)
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// enricher returns a function that adds the lead status's type and order,
// which only the lead-status list carries, to a contact's leadStatus.
func enricher(statuses []contact.LeadStatus) func(map[string]json.RawMessage) {
	byID := make(map[string]contact.LeadStatus, len(statuses))
	for _, s := range statuses {
		byID[s.ID] = s
	}
	return func(fields map[string]json.RawMessage) {
		var ls map[string]json.RawMessage
		if json.Unmarshal(fields["leadStatus"], &ls) != nil || ls == nil {
			return
		}
		s, ok := byID[contact.Text(ls["id"])]
		if !ok {
			return
		}
		ls["type"], _ = json.Marshal(s.Type)
		ls["order"], _ = json.Marshal(s.Order)
		fields["leadStatus"], _ = json.Marshal(ls)
	}
}
