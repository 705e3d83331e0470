// Package sinks defines what a destination of contact changes provides.
// Each sink type lives in its own package below this one; the engine only
// knows the interfaces here.
package sinks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/secret"
)

// Sink delivers contact changes to one destination.
type Sink interface {
	// Deliver delivers a batch of changes and returns one error per change,
	// in the same order: nil once the destination acknowledged that change
	// (a file renamed into place, an HTTP 2xx), so that it is never sent
	// again. The batch holds at most one change per contact, and changes of
	// one contact arrive in the order they were detected. A change may be
	// delivered again after a crash (at least once), so delivering a change
	// twice must leave the destination as delivering it once did.
	//
	// An error that wraps ErrUnavailable says the destination itself is
	// failing: the engine stops delivering to this sink for the run and keeps
	// the rest queued. One that wraps ErrGone says the destination asked
	// never to be sent to again: the sink is disabled until `redeliver` or a
	// config change. One that wraps ErrPermanent says the destination will
	// never take that change: it moves to the sink's dead letters (for
	// `redeliver`) and the contact's later changes go on. Any other error
	// concerns that change alone; it stays queued and the contact's later
	// changes wait behind it.
	Deliver(ctx context.Context, batch []contact.Change) []error
}

// Committer is a Sink that stages what Deliver accepts and makes it durable
// in one step (the csv sink rewrites one file). For a Committer, a nil error
// from Deliver means staged; nothing counts as acknowledged until Commit
// returns nil, and if Commit fails, nothing does.
type Committer interface {
	Commit(ctx context.Context) error
}

// Checker is a Sink that can tell, without changing anything, whether its
// destination can take deliveries (for `connect-sync check`).
type Checker interface {
	Check(ctx context.Context) error
}

// Auditor is a Sink that can read its destination back and tell how it
// has drifted from what the sink wrote there (edited or deleted by hand,
// by another program), so that the next deliveries repair it.
type Auditor interface {
	// Audit compares the destination with want, the contacts it should
	// hold, as the sink would write them, and returns how it differs. seal
	// is what Seal returned after the sink's last run, nil before the
	// first: while the destination still matches it, an audit may look
	// no further, unless full. What the sink did not write it leaves out of
	// the drift, never to be touched.
	Audit(ctx context.Context, want Want, seal []byte, full bool) (Drift, error)
	// Seal describes the destination as the sink has left it, for the
	// next Audit; it is asked once a run's deliveries are over.
	Seal(ctx context.Context) ([]byte, error)
}

// What a sink does about a destination that drifted from the source: its
// on_drift setting.
const (
	// OnDriftRepair queues the changes that make it equal the source
	// again: the default.
	OnDriftRepair = "repair"
	// OnDriftReport leaves it as it is, logs what differs and fails the
	// sink's part of the run, every run until it is repaired by hand.
	OnDriftReport = "report"
)

// DriftSetting is the on_drift key of a sink that reads its destination
// back, which its Config embeds inline.
type DriftSetting struct {
	OnDrift string `yaml:"on_drift"`
}

// DriftPolicy returns OnDriftRepair or OnDriftReport.
func (d DriftSetting) DriftPolicy() string {
	if d.OnDrift == "" {
		return OnDriftRepair
	}
	return d.OnDrift
}

// Validate refuses another value.
func (d DriftSetting) Validate() error {
	switch d.OnDrift {
	case "", OnDriftRepair, OnDriftReport:
		return nil
	}
	return &FieldError{Key: "on_drift", Err: fmt.Errorf("%q is not repair or report", d.OnDrift)}
}

// Drifting is a Config of a sink that reads its destination back: what a
// drift it finds gets.
type Drifting interface {
	DriftPolicy() string
}

// Want is what a destination should hold: every contact of the source,
// but those the sink has changes of queued, whose copy in the destination
// may be anything until they are delivered.
type Want interface {
	// IDs returns the contacts' ids, sorted.
	IDs(ctx context.Context) ([]string, error)
	// Queued reports whether the sink has changes of the contact queued:
	// its copy is neither missing, modified nor extra.
	Queued(ctx context.Context, id string) (bool, error)
	// Contacts returns the contacts of ids, as the source last sent them.
	Contacts(ctx context.Context, ids []string) ([]contact.Contact, error)
}

// Drift is how a destination differs from the source, by contact id.
type Drift struct {
	Missing  []string // the source has it, the destination does not
	Modified []string // the destination's copy is not what the sink writes
	Extra    []string // the sink's own copy of a contact the source no longer has
}

// Len counts the contacts that drifted.
func (d Drift) Len() int { return len(d.Missing) + len(d.Modified) + len(d.Extra) }

// The errors a sink wraps to tell the engine what to do; see Sink.Deliver.
var (
	// ErrUnavailable marks errors that concern the whole destination
	// rather than one change.
	ErrUnavailable = errors.New("destination unavailable")
	// ErrGone means the destination is gone for good (an HTTP 410).
	ErrGone = errors.New("destination gone")
	// ErrPermanent means the destination refused one change for good.
	ErrPermanent = errors.New("refused for good")
)

// Config is one sink type's configuration, decoded strictly from the sink's
// entry in the config file.
type Config interface {
	// Validate checks the settings and names the offending key with a
	// *FieldError.
	Validate() error
	// Target names the destination (a path, a URL). The state file tracks a
	// sink by name and target: a new target starts the sink over with every
	// current contact.
	Target() string
	// Open creates the sink.
	Open(env Env) (Sink, error)
}

// Formatter is a Config with settings that change what is written, not
// where (a vCard version, the CSV formula guard): when Format changes, the
// sink is sent every current contact again, as for a new Target.
type Formatter interface {
	Format() string
}

// Exclusive is a Config whose destination no other sink may share, in a
// way Clash decides: two sinks writing one file would delete each other's
// contacts, two nats sinks of one workspace on one stream would lose
// events as duplicates. The config calls Clash with every sink before
// this one, of every workspace.
type Exclusive interface {
	// Clash returns why the sink cannot be configured beside other, on
	// the key of its own settings to blame, or nil.
	Clash(other Neighbour) *FieldError
}

// Neighbour is another sink of the config, as Exclusive.Clash sees it.
type Neighbour struct {
	Config Config
	// Name names it in messages: where it is in the config file.
	Name string
	// SameWorkspace tells whether it belongs to the sink's workspace.
	SameWorkspace bool
}

// SharedDestination is the clash of a sink that would write what other
// writes (a what: "file", "folder"), blamed on key.
func SharedDestination(key, what string, other Neighbour) *FieldError {
	return &FieldError{Key: key, Err: fmt.Errorf("the same %s as %s: two sinks writing one %s would delete each other's contacts", what, other.Name, what)}
}

// FormerTarget is a Config whose Target changed form (the webhook sink's
// is hashed now): a state that recorded the former form for this same
// destination takes the new one instead of starting the sink over.
type FormerTarget interface {
	FormerTarget() string
}

// SecretHolder is a Config with secrets that its destination, or a server
// on the way, might quote back in an error (a password, a token, a
// credential header): every part of connect-sync that quotes what a server
// sent redacts them (Env.Redactor). Secrets read from a file are read here
// too; one that cannot be read is left out, for Open to report. Only
// credentials belong here: a value that may be an ordinary word ("api",
// "application/json") would be blanked out of every server's messages.
type SecretHolder interface {
	Secrets() []secret.String
}

// WorkspaceDefault is a Config with a setting whose default is the name
// of the sink's workspace (the nats sink's subject token). The config
// calls DefaultWorkspace before it decodes the sink's entry, which may
// set its own.
type WorkspaceDefault interface {
	DefaultWorkspace(name string)
}

// Env is what a sink gets from the rest of connect-sync when it is opened.
type Env struct {
	// Name is the sink's unique name from the config.
	Name string
	// Workspace is the name of the sink's workspace, "default" in the
	// single-workspace form; sinks that send events say it in each.
	Workspace string
	// Logger is scoped to the sink.
	Logger *slog.Logger
	// SourceURL is the Connect base URL; sinks derive stable identifiers
	// (vCard UIDs) from it and the contact id.
	SourceURL string
	// Conflict, when set, counts a change that met a destination changed
	// behind connect-sync's back (a CardDAV card edited on the server),
	// by how it was resolved: "overwritten" or "skipped".
	Conflict func(resolution string)
	// Redactor removes the workspace's secrets (its API key, every sink's
	// SecretHolder secrets) from what the sink quotes of a server's
	// answers, and from nothing else. A sink adds the secrets Open reads
	// to it, so that nil still hides those, without reading their files
	// again through Secrets.
	Redactor *secret.Redactor
	// Memo keeps what the sink must remember per contact between runs
	// (a CardDAV card's href and ETag). It is forgotten when the sink is
	// reset or its target changes.
	Memo Memo
	// Residents, set by a process that runs the sinks again and again
	// (the service), keeps what a sink holds open from one run to the
	// next (a vcard-dir sink's watch of its folder); nil in a one-shot
	// command, whose sinks hold nothing past their run.
	Residents *Residents
}

// Memo is a sink's small record per contact in the state. Each call is
// its own transaction, so a value put after the destination acknowledged
// a change survives a crash; one lost to a crash just before the Put must
// be rebuilt from the destination.
type Memo interface {
	// Get returns the contact's value, nil when there is none.
	Get(ctx context.Context, contactID string) ([]byte, error)
	Put(ctx context.Context, contactID string, value []byte) error
	Delete(ctx context.Context, contactID string) error
	// Len counts the contacts with a value.
	Len(ctx context.Context) (int, error)
}

// FieldError is an invalid setting in a sink's config.
type FieldError struct {
	Key string // the key within the sink's entry, such as "path"
	Err error
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %v", e.Key, e.Err) }

func (e *FieldError) Unwrap() error { return e.Err }

// AbsPath is a file sink's Target: its path made absolute, since the same
// relative path from another working directory is another file.
func AbsPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
