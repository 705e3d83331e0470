package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// eventTypes maps each kind of change to its event type.
var eventTypes = map[contact.Kind]string{
	contact.Created: "contact.created",
	contact.Updated: "contact.updated",
	contact.Deleted: "contact.deleted",
}

// batchType is the event type of a request that carries several events.
const batchType = "contact.batch"

// event is the JSON of one change.
type event struct {
	// ID is set inside a batch only; alone, the event's id is the
	// webhook-id header. In a batch it lets receivers de-duplicate events
	// that come again in a batch of other events.
	ID        string    `json:"id,omitempty"`
	Type      string    `json:"type"`
	Timestamp string    `json:"timestamp"`
	Data      eventData `json:"data"`
}

type eventData struct {
	// Contact and Previous are the objects as the API sent them, so that
	// unknown fields and exact values reach the receiver.
	Contact       json.RawMessage `json:"contact"`
	Previous      json.RawMessage `json:"previous"`
	ChangedFields []string        `json:"changedFields"`
}

// message is one request: one event, or a batch of them.
type message struct {
	id      string // the webhook-id
	body    []byte
	changes []int // the indices of its changes in the Deliver batch
}

// messages turns a Deliver batch into requests, in order. A change the
// events setting leaves out gets no request and keeps its nil error; one
// of an unknown kind or whose contact is not valid JSON gets its error in
// errs and no request, and stays queued like any error that concerns one
// change.
func (s *Sink) messages(batch []contact.Change, errs []error) []message {
	var (
		msgs    []message
		pending []int
		events  [][]byte
	)
	flush := func() {
		if len(pending) > 0 {
			msgs = append(msgs, batchMessage(batch, pending, events))
			pending, events = nil, nil
		}
	}
	for i, ch := range batch {
		if _, known := eventTypes[ch.Kind]; !known {
			errs[i] = fmt.Errorf("webhook: event %s: unknown change kind %q", ch.ID, ch.Kind)
			continue
		}
		if !s.events[ch.Kind] {
			continue
		}
		body, err := encodeEvent(ch, s.batchSize > 1)
		if err != nil {
			errs[i] = fmt.Errorf("webhook: event %s: %w", ch.ID, err)
			continue
		}
		if s.batchSize == 1 {
			msgs = append(msgs, message{id: ch.ID, body: body, changes: []int{i}})
			continue
		}
		pending, events = append(pending, i), append(events, body)
		if len(pending) == s.batchSize {
			flush()
		}
	}
	flush()
	return msgs
}

// encodeEvent returns the JSON of one change, with its id for a batch.
func encodeEvent(ch contact.Change, withID bool) ([]byte, error) {
	ev := event{
		Type:      eventTypes[ch.Kind],
		Timestamp: timestamp(ch.DetectedAt),
		Data: eventData{
			Contact:       ch.Contact.Raw,
			ChangedFields: ch.ChangedFields,
		},
	}
	if withID {
		ev.ID = ch.ID
	}
	if ch.Previous != nil {
		ev.Data.Previous = ch.Previous.Raw
	}
	if ev.Data.ChangedFields == nil {
		ev.Data.ChangedFields = []string{}
	}
	return marshal(ev)
}

// batchMessage makes one request of several encoded events. Its id is
// derived from the events' ids and its timestamp is the newest of theirs,
// so the same events always make the same request, whenever it is sent.
func batchMessage(batch []contact.Change, indices []int, events [][]byte) message {
	ids := make([]string, len(indices))
	var newest time.Time
	for n, i := range indices {
		ids[n] = batch[i].ID
		if batch[i].DetectedAt.After(newest) {
			newest = batch[i].DetectedAt
		}
	}
	// Written out rather than marshalled: the events are JSON already, so
	// this cannot fail.
	var body bytes.Buffer
	body.WriteString(`{"type":"` + batchType + `","timestamp":"` + timestamp(newest) + `","data":{"events":[`)
	body.Write(bytes.Join(events, []byte(",")))
	body.WriteString(`]}}`)
	return message{id: batchID(ids), body: body.Bytes(), changes: indices}
}

// timestamp is how the payload writes a time: RFC 3339 in UTC, with as
// many fractional digits as it has.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// batchID is "msg_" and the hex SHA-256 of the events' ids joined by commas.
func batchID(ids []string) string {
	sum := sha256.Sum256([]byte(strings.Join(ids, ",")))
	return "msg_" + hex.EncodeToString(sum[:])
}

// marshal encodes compact JSON without escaping <, > and &, which
// json.Marshal would rewrite inside the contact's strings.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
