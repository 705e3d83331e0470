package state

import "time"

// Run is the record of one sync run.
type Run struct {
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Result     string    `json:"result"` // RunSucceeded, RunFailed or RunStopped
	Error      string    `json:"error,omitempty"`
}

// The results of a run.
const (
	RunSucceeded = "success"
	RunFailed    = "failure"
	RunStopped   = "stopped" // ended early by a shutdown; the rest stays queued
)

// Status is what `connect-sync status --json` prints.
type Status struct {
	Workspace     string       `json:"workspace"`
	LastRun       *Run         `json:"last_run"`
	LastSuccessAt *time.Time   `json:"last_success_at"`
	Contacts      int          `json:"contacts"`
	Sinks         []SinkStatus `json:"sinks"`
}

// SinkStatus is one sink's part of Status.
type SinkStatus struct {
	Name          string     `json:"name"`
	Type          string     `json:"type"`
	Delivered     uint64     `json:"delivered"`
	Pending       int        `json:"pending"`
	DeadLetters   int        `json:"dead_letters"`
	LastError     string     `json:"last_error"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	Disabled      string     `json:"disabled,omitempty"`
	// LastDrift is what the last audit of the destination found that
	// differed from the source, nil when none ever did.
	LastDrift *Drift    `json:"last_drift,omitempty"`
	Failures  []Failure `json:"failures,omitempty"`
	// DeadLetterList holds the oldest dead letters, up to
	// StatusDeadLetters of them.
	DeadLetterList []DeadLetter `json:"dead_letter_list,omitempty"`
}

// StatusDeadLetters bounds the dead letters Status lists; DeadLetters
// counts them all.
const StatusDeadLetters = 20
