package state

// Import is what the state knows of one imported record.
type Import struct {
	// ContactID is the contact the record was created as; empty while the
	// import is pending: a create was (or was about to be) sent and its
	// outcome is not known.
	ContactID string `json:"contact_id,omitempty"`
}

// Pending reports whether the record's create may or may not have happened.
func (i Import) Pending() bool { return i.ContactID == "" }
