package state

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// Detected is one change as the engine commits it: the change itself (with
// the contacts' Raw JSON) and the contact's new checkpoint entry (nil for a
// deletion).
type Detected struct {
	Change contact.Change
	Entry  *Entry
}

// Queued is a change waiting in a sink's queue.
type Queued struct {
	Seq    uint64
	Change contact.Change
}

// Record is how a change is stored, as JSON, in every backend of the
// state alike, so that they agree byte for byte.
type Record struct {
	ID            string          `json:"id"`
	Kind          contact.Kind    `json:"kind"`
	DetectedAt    time.Time       `json:"detected_at"`
	Contact       json.RawMessage `json:"contact"`
	Previous      json.RawMessage `json:"previous,omitempty"`
	ChangedFields []string        `json:"changed_fields,omitempty"`
}

// NewRecord returns the record of a change.
func NewRecord(c contact.Change) Record {
	r := Record{
		ID:            c.ID,
		Kind:          c.Kind,
		DetectedAt:    c.DetectedAt,
		Contact:       c.Contact.Raw,
		ChangedFields: c.ChangedFields,
	}
	if c.Previous != nil {
		r.Previous = c.Previous.Raw
	}
	return r
}

// Change parses the record back into the change.
func (r Record) Change() (contact.Change, error) {
	cur, err := contact.Parse(r.Contact)
	if err != nil {
		return contact.Change{}, err
	}
	c := contact.Change{ID: r.ID, Kind: r.Kind, DetectedAt: r.DetectedAt, Contact: cur, ChangedFields: r.ChangedFields}
	if r.Previous != nil {
		prev, err := contact.Parse(r.Previous)
		if err != nil {
			return contact.Change{}, err
		}
		c.Previous = &prev
	}
	return c, nil
}

// Refresh makes a dead letter's record carry its contact as it is now
// (see Store.Redeliver): now is the contact's current snapshot, nil
// when the contact is gone. The record keeps its id.
func (r *Record) Refresh(now json.RawMessage) {
	switch {
	case now == nil:
		r.Kind, r.ChangedFields = contact.Deleted, nil
	case r.Kind == contact.Deleted:
		r.Kind, r.Contact, r.Previous = contact.Created, bytes.Clone(now), nil
	default:
		r.Contact = bytes.Clone(now)
	}
}

// Touch is a new checkpoint entry for a contact whose content did not
// change: the API sent it as other bytes (key order, spacing).
type Touch struct {
	ID    string
	Entry Entry
}

// Burial is a change a sink refused for good: it leaves the sink's queue
// for its dead letters, which keep it, with why, until `redeliver`.
type Burial struct {
	Seq   uint64
	Error string
	At    time.Time
}

// DeadLetter is one of a sink's dead letters, for `status`.
type DeadLetter struct {
	Event   string       `json:"event"` // the change's id, the webhook-id
	Contact string       `json:"contact"`
	Kind    contact.Kind `json:"kind"`
	Error   string       `json:"error"`
	At      time.Time    `json:"at"`
}
