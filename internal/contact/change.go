package contact

import "time"

// Kind says what happened to a contact.
type Kind string

// The kinds of change; the strings are part of the webhook payload.
const (
	Created Kind = "created"
	Updated Kind = "updated"
	Deleted Kind = "deleted"
)

// Change is one detected change of one contact, as every sink receives it.
// Changes are never merged: two edits seen by two runs are two changes.
type Change struct {
	// ID identifies the change across retries and restarts, so receivers
	// can de-duplicate at-least-once deliveries.
	ID         string
	Kind       Kind
	DetectedAt time.Time
	// Contact is the contact after the change; for a deletion, the last
	// known snapshot.
	Contact Contact
	// Previous is the last snapshot before the change; nil for creations.
	Previous *Contact
	// ChangedFields names the top-level fields whose values differ, for
	// updates; it is empty for creations and deletions.
	ChangedFields []string
}
