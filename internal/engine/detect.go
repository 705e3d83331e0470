package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Plan is what one complete fetch changed against the checkpoint. It keeps
// the changed contacts as the API sent them in a spool file and builds
// their changes, with the previous snapshots, one batch at a time
// (Batches), so that memory holds one batch of parsed contacts whatever
// the number of changes. Close releases the spool.
type Plan struct {
	// Fetched counts the contacts the source returned; Tracked, those the
	// checkpoint knew before.
	Fetched, Tracked int
	// Created, Updated and Deleted count the changes.
	Created, Updated, Deleted int
	// Skipped lists the contacts the source listed but could not take
	// (too large, nested too deeply): each counts as seen and unchanged,
	// so a tracked one keeps its checkpoint entry and is not deleted.
	Skipped []contact.Skipped
	// HeldDeletions says no deletion was planned, since a contact skipped
	// without a readable id may be any tracked one.
	HeldDeletions bool

	changed   []fetched     // new and changed contacts, in the source's order
	spool     *spool        // their bytes; nil when there are none
	deleted   []string      // tracked ids the fetch did not return, sorted
	refreshed []state.Touch // unchanged contacts the API now sends as other bytes
	cp        state.Checkpoint
	enrich    func(map[string]json.RawMessage)
	now       time.Time
}

// Detect fetches every contact and works out what changed since the
// checkpoint. It writes nothing. Any failure of the fetch fails the whole
// detection: a partial list is never taken for the full one, except that
// contacts the source skipped (a *contact.SkippedError) are logged, kept
// as they were, and listed in the plan's Skipped.
func (e *Engine) Detect(ctx context.Context, query string, cp state.Checkpoint) (*Plan, error) {
	statuses, err := e.Source.LeadStatuses(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch lead statuses: %w", err)
	}
	entries, err := cp.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	d := newDiffer(entries, e.SpoolDir)
	err = e.Source.Contacts(ctx, query, func(raw json.RawMessage) error {
		err := d.observe(raw)
		var skip *unusableError
		if errors.As(err, &skip) {
			e.Logger.Warn("skipping a contact the API sent without a usable id", "error", err)
			err = nil
		}
		e.progress(StageFetched, len(d.seen))
		return err
	})
	var skipped *contact.SkippedError
	if errors.As(err, &skipped) {
		for _, s := range d.skip(skipped.Contacts) {
			attrs := []any{"position", s.Position, "reason", s.Reason}
			if s.ID != "" {
				attrs = append([]any{"contact", s.ID}, attrs...)
			}
			e.Logger.Warn("skipping a contact the API sent that connect-sync does not take: the sinks keep it as it was, and the run will fail", attrs...)
		}
		err = nil
	}
	if err != nil {
		d.spool.close()
		return nil, fmt.Errorf("fetch contacts: %w", err)
	}
	p := d.plan(cp, enricher(statuses), e.now())
	if p.HeldDeletions {
		e.Logger.Warn("the API sent a contact whose id could not be read: no contact is deleted this run, since it may be any of them")
	}
	return p, nil
}

// Close releases what the plan holds: its spool, and its lists, which in
// a first sync are as long as the workspace. It may be called again.
func (p *Plan) Close() error {
	s := p.spool
	p.spool, p.changed, p.deleted, p.refreshed = nil, nil, nil, nil
	return s.close()
}

// fetched is one new or changed contact from the source; its bytes are in
// the spool, from at to end.
type fetched struct {
	id      string
	known   bool // the checkpoint has it: an update
	entry   state.Entry
	at, end int64
}

// unusableError is a contact that cannot be tracked, which the fetch skips.
type unusableError struct{ err error }

func (e *unusableError) Error() string { return e.err.Error() }
func (e *unusableError) Unwrap() error { return e.err }

// reduce parses a contact just enough to identify and fingerprint it.
func reduce(raw json.RawMessage) (id string, entry state.Entry, err error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return "", entry, err
	}
	id = contact.Text(fields["id"])
	if id == "" {
		return "", entry, fmt.Errorf("contact without id")
	}
	entry = state.Entry{Hash: contentHash(fields), Raw: rawHash(raw), LastActivityAt: contact.Text(fields["lastActivityAt"])}
	return id, entry, nil
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
	slices.Sort(keys)
	h := sha256.New()
	var buf bytes.Buffer
	var prefix []byte
	for _, k := range keys {
		buf.Reset()
		if json.Compact(&buf, fields[k]) != nil {
			buf.Write(fields[k])
		}
		// "key":length: then the value, as fmt's "%q:%d:" wrote it.
		prefix = strconv.AppendQuote(prefix[:0], k)
		prefix = append(prefix, ':')
		prefix = strconv.AppendInt(prefix, int64(buf.Len()), 10)
		h.Write(append(prefix, ':'))
		h.Write(buf.Bytes())
	}
	var sum [16]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// rawHash fingerprints a contact's bytes exactly as the API sent them.
func rawHash(raw []byte) [16]byte {
	sum := sha256.Sum256(raw)
	return [16]byte(sum[:16])
}

func isNull(v json.RawMessage) bool {
	return len(bytes.TrimSpace(v)) == 0 || string(bytes.TrimSpace(v)) == "null"
}

// differ compares a stream of fetched contacts against the checkpoint.
//
// Most contacts of a poll come back byte for byte as the last time, and
// byRaw recognises those from a hash of their bytes alone: no parsing, not
// even for the id, which is inside those bytes. Only the others are parsed
// and compared by content, so that key order or spacing never counts as an
// edit.
type differ struct {
	checkpoint map[string]state.Entry
	byRaw      map[[16]byte]string
	seen       map[string]bool
	changed    []fetched
	spoolDir   string
	spool      *spool
	refreshed  []state.Touch
	skipped    []contact.Skipped
}

func newDiffer(checkpoint map[string]state.Entry, spoolDir string) *differ {
	d := &differ{
		spoolDir:   spoolDir,
		checkpoint: checkpoint,
		byRaw:      make(map[[16]byte]string, len(checkpoint)),
		seen:       make(map[string]bool, len(checkpoint)),
	}
	for id, e := range checkpoint {
		if e.Raw != ([16]byte{}) {
			d.byRaw[e.Raw] = id
		}
	}
	return d
}

// observe records one contact of the stream. A contact the API lists twice
// counts once, as its first copy. raw is not kept.
func (d *differ) observe(raw json.RawMessage) error {
	if id, ok := d.byRaw[rawHash(raw)]; ok {
		d.seen[id] = true
		return nil
	}
	id, entry, err := reduce(raw)
	if err != nil {
		return &unusableError{err}
	}
	if d.seen[id] {
		return nil
	}
	d.seen[id] = true
	old, known := d.checkpoint[id]
	if known && old.Same(entry) {
		d.refreshed = append(d.refreshed, state.Touch{ID: id, Entry: entry})
		return nil
	}
	if d.spool == nil {
		if d.spool, err = newSpool(d.spoolDir); err != nil {
			return err
		}
	}
	at, err := d.spool.add(raw)
	if err != nil {
		return err
	}
	d.changed = append(d.changed, fetched{id: id, known: known, entry: entry, at: at, end: at + int64(len(raw))})
	return nil
}

// skip records the contacts the source skipped as seen, so that none of
// them is taken for deleted, and returns them, each id once.
func (d *differ) skip(list []contact.Skipped) []contact.Skipped {
	named := make(map[string]bool)
	for _, s := range list {
		if s.ID != "" {
			if named[s.ID] {
				continue
			}
			named[s.ID] = true
			d.seen[s.ID] = true
		}
		d.skipped = append(d.skipped, s)
	}
	return d.skipped
}

// plan completes the comparison: tracked contacts the fetch did not return
// are deleted, unless the source skipped a contact whose id it could not
// read, which may be any of them: then none is.
func (d *differ) plan(cp state.Checkpoint, enrich func(map[string]json.RawMessage), now time.Time) *Plan {
	p := &Plan{
		Fetched: len(d.seen), Tracked: len(d.checkpoint), Skipped: d.skipped,
		changed: d.changed, spool: d.spool, refreshed: d.refreshed,
		cp: cp, enrich: enrich, now: now,
	}
	if slices.ContainsFunc(d.skipped, func(s contact.Skipped) bool { return s.ID == "" }) {
		p.HeldDeletions = true
	}
	for id := range d.checkpoint {
		if !d.seen[id] && !p.HeldDeletions {
			p.deleted = append(p.deleted, id)
		}
	}
	slices.Sort(p.deleted)
	for _, f := range d.changed {
		if f.known {
			p.Updated++
		} else {
			p.Created++
		}
	}
	p.Deleted = len(p.deleted)
	return p
}

// Batches yields the plan's changes in the order they are queued
// (creations and updates in the source's order, then deletions by id), a
// commit's worth at a time, each with its contact's new checkpoint entry.
func (p *Plan) Batches(ctx context.Context) iter.Seq2[[]state.Detected, error] {
	return func(yield func([]state.Detected, error) bool) {
		for chunk := range slices.Chunk(p.changed, commitBatch) {
			if !yield(p.changes(ctx, chunk)) {
				return
			}
		}
		for chunk := range slices.Chunk(p.deleted, commitBatch) {
			if !yield(p.deletions(ctx, chunk)) {
				return
			}
		}
	}
}

// Refreshed lists the contacts whose content did not change but whose
// bytes did, with the entry that recognises their new bytes.
func (p *Plan) Refreshed() []state.Touch { return p.refreshed }

func (p *Plan) changes(ctx context.Context, chunk []fetched) ([]state.Detected, error) {
	var ids []string
	for _, f := range chunk {
		if f.known {
			ids = append(ids, f.id)
		}
	}
	previous, err := p.cp.Snapshots(ctx, ids)
	if err != nil {
		return nil, err
	}
	spooled, err := p.spool.read(chunk[0].at, chunk[len(chunk)-1].end)
	if err != nil {
		return nil, err
	}
	batch := make([]state.Detected, 0, len(chunk))
	for _, f := range chunk {
		raw := spooled[f.at-chunk[0].at : f.end-chunk[0].at]
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, fmt.Errorf("contact %s: %w", f.id, err)
		}
		p.enrich(fields)
		c, err := newChange(fields, previous[f.id], p.now)
		if err != nil {
			return nil, err
		}
		entry := f.entry
		batch = append(batch, state.Detected{Change: c, Entry: &entry})
	}
	return batch, nil
}

func (p *Plan) deletions(ctx context.Context, ids []string) ([]state.Detected, error) {
	previous, err := p.cp.Snapshots(ctx, ids)
	if err != nil {
		return nil, err
	}
	batch := make([]state.Detected, 0, len(ids))
	for _, id := range ids {
		snap, err := contact.Parse(previous[id])
		if err != nil {
			return nil, fmt.Errorf("snapshot of contact %s: %w", id, err)
		}
		c := contact.Change{ID: newChangeID(), Kind: contact.Deleted, DetectedAt: p.now, Contact: snap, Previous: &snap}
		batch = append(batch, state.Detected{Change: c})
	}
	return batch, nil
}

func newChange(fields map[string]json.RawMessage, previous json.RawMessage, now time.Time) (contact.Change, error) {
	raw, err := json.Marshal(fields)
	if err != nil {
		return contact.Change{}, err
	}
	cur, err := contact.FromFields(fields, raw)
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
