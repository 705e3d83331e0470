package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event"
)

// batchType is the event type of a request that carries several events.
const batchType = "contact.batch"

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
			msgs = append(msgs, batchMessage(s.workspace, batch, pending, events))
			pending, events = nil, nil
		}
	}
	for i, ch := range batch {
		if _, known := event.Type(ch.Kind); !known {
			errs[i] = fmt.Errorf("webhook: event %s: unknown change kind %q", ch.ID, ch.Kind)
			continue
		}
		if !s.events[ch.Kind] {
			continue
		}
		body, err := encodeEvent(s.workspace, ch, s.batchSize > 1)
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

// encodeEvent returns the JSON of one change in a workspace
// (internal/event's), with its id for a batch.
func encodeEvent(workspace string, ch contact.Change, withID bool) ([]byte, error) {
	ev, err := event.New(workspace, ch)
	if err != nil {
		return nil, err
	}
	if withID {
		ev.ID = ch.ID
	}
	return event.Marshal(ev)
}

// batchMessage makes one request of several encoded events of a
// workspace, which it names too. Its id is derived from the events' ids
// and its timestamp is the newest of theirs, so the same events always
// make the same request, whenever it is sent.
func batchMessage(workspace string, batch []contact.Change, indices []int, events [][]byte) message {
	ids := make([]string, len(indices))
	var newest time.Time
	for n, i := range indices {
		ids[n] = batch[i].ID
		if batch[i].DetectedAt.After(newest) {
			newest = batch[i].DetectedAt
		}
	}
	// Written out rather than marshalled: the events are JSON already, so
	// this cannot fail (nor can quoting a string).
	name, _ := event.Marshal(workspace)
	var body bytes.Buffer
	body.WriteString(`{"type":"` + batchType + `","workspace":` + string(name) + `,"timestamp":"` + event.Timestamp(newest) + `","data":{"events":[`)
	body.Write(bytes.Join(events, []byte(",")))
	body.WriteString(`]}}`)
	return message{id: batchID(ids), body: body.Bytes(), changes: indices}
}

// batchID is "msg_" and the hex SHA-256 of the events' ids joined by commas.
func batchID(ids []string) string {
	sum := sha256.Sum256([]byte(strings.Join(ids, ",")))
	return "msg_" + hex.EncodeToString(sum[:])
}
