package state

import "time"

// SinkInfo is what the state knows of one sink.
type SinkInfo struct {
	// Type and Target identify the destination; when either changes in the
	// config, the sink starts over with a back-fill.
	Type   string `json:"type"`
	Target string `json:"target"`
	// Format is what the sink writes there (a vCard version); when it
	// changes, the sink is sent every contact again.
	Format string `json:"format,omitempty"`
	// Backfilling is set while the back-fill of a new sink is under way;
	// a sink still marked after a crash is back-filled again from scratch.
	Backfilling bool `json:"backfilling,omitempty"`
	// Disabled says why the destination asked never to be sent to again
	// (an HTTP 410); nothing is delivered to it until `redeliver` or a
	// new target.
	Disabled      string     `json:"disabled,omitempty"`
	Delivered     uint64     `json:"delivered"`
	LastError     string     `json:"last_error,omitempty"`
	LastSuccessAt *time.Time `json:"last_success_at,omitempty"`
	// Failures lists the contacts whose changes the sink refused in its
	// last run; they stay queued and are tried again.
	Failures []Failure `json:"failures,omitempty"`
	// Seal is the sink's own description of its destination as it left
	// it (sinks.Auditor), for the next run's audit.
	Seal []byte `json:"seal,omitempty"`
	// LastDrift is what the last audit that found the destination
	// drifted found.
	LastDrift *Drift `json:"last_drift,omitempty"`
}

// Drift is what an audit found of a destination that differed from the
// source: how many contacts were missing, modified by hand or left over,
// and whether they were repaired (on_drift: repair) or only reported.
type Drift struct {
	At       time.Time `json:"at"`
	Missing  int       `json:"missing"`
	Modified int       `json:"modified"`
	Extra    int       `json:"extra"`
	Repaired bool      `json:"repaired"`
}

// Failure is a contact a sink could not take, and why.
type Failure struct {
	Contact string `json:"contact"`
	Error   string `json:"error"`
}
