// Package event is the JSON form of a contact change that the sinks which
// send events share: the webhook sink POSTs it and the nats sink publishes
// it, byte for byte the same for the same change.
//
//	{"type": "contact.updated", "workspace": "acme",
//	 "timestamp": "2026-03-01T08:30:15.25Z",
//	 "data": {"contact": {…}, "previous": {…}, "changedFields": ["email"]}}
//
// The workspace is the name of the Connect workspace the change comes
// from ("default" in the single-workspace form), so that a receiver of
// several workspaces' events can tell them apart.
//
// The contact and its previous snapshot are the objects as the Connect API
// sent them, so unknown fields and exact values reach the receiver.
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// types maps each kind of change to its event type.
var types = map[contact.Kind]string{
	contact.Created: "contact.created",
	contact.Updated: "contact.updated",
	contact.Deleted: "contact.deleted",
}

// Type returns the event type of a kind of change ("contact.created"), and
// false for a kind that has none.
func Type(kind contact.Kind) (string, bool) {
	t, ok := types[kind]
	return t, ok
}

// Kinds returns every kind of change that has an event type.
func Kinds() []contact.Kind {
	return []contact.Kind{contact.Created, contact.Updated, contact.Deleted}
}

// Event is the JSON of one change.
type Event struct {
	// ID is left out of an event sent alone, whose id travels beside it
	// (the webhook-id header, the Nats-Msg-Id header); a batch of events
	// sets it on each so that receivers can de-duplicate them one by one.
	ID        string `json:"id,omitempty"`
	Type      string `json:"type"`
	Workspace string `json:"workspace"`
	Timestamp string `json:"timestamp"`
	Data      Data   `json:"data"`
}

// Data is what an event says about the contact.
type Data struct {
	// Contact is the contact after the change (for a deletion, the last
	// known one) and Previous the snapshot before it (null for a
	// creation), both verbatim.
	Contact  json.RawMessage `json:"contact"`
	Previous json.RawMessage `json:"previous"`
	// ChangedFields lists the top-level fields an update changed; [] for
	// other kinds.
	ChangedFields []string `json:"changedFields"`
}

// New returns the event of a change in a workspace, without its id. The
// same change and workspace always make the same event.
func New(workspace string, ch contact.Change) (Event, error) {
	typ, ok := Type(ch.Kind)
	if !ok {
		return Event{}, fmt.Errorf("event: unknown change kind %q", ch.Kind)
	}
	ev := Event{
		Type:      typ,
		Workspace: workspace,
		Timestamp: Timestamp(ch.DetectedAt),
		Data: Data{
			Contact:       ch.Contact.Raw,
			ChangedFields: ch.ChangedFields,
		},
	}
	if ch.Previous != nil {
		ev.Data.Previous = ch.Previous.Raw
	}
	if ev.Data.ChangedFields == nil {
		ev.Data.ChangedFields = []string{}
	}
	return ev, nil
}

// Encode returns the JSON of a change's event in a workspace, without its
// id: the body of an event sent alone.
func Encode(workspace string, ch contact.Change) ([]byte, error) {
	ev, err := New(workspace, ch)
	if err != nil {
		return nil, err
	}
	return Marshal(ev)
}

// Timestamp is how an event writes a time: RFC 3339 in UTC, with as many
// fractional digits as it has.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Marshal encodes compact JSON without escaping <, > and &, which
// json.Marshal would rewrite inside the contact's strings.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
