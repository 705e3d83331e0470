// Package importer creates Connect contacts from CSV and vCard files
// (`connect-sync import`), safely: every record is read and validated by
// the API's own rules before anything is sent; records whose email the
// workspace already has, or that an earlier import created, are left
// out; creates go out with bounded concurrency; and each create is
// remembered in a ledger (the state file), so running the same import
// again after a crash or a failure creates no duplicates.
//
// One import is: read every file (read.go), decide per record against the
// ledger and the workspace's contact list (plan.go), then send the creates
// (send.go). A create whose outcome is unknown (a 500, a broken
// connection) is never simply repeated, since the API may have created the
// contact: the contact list is asked first, by the record's fingerprint.
package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// API is the part of the Connect API an import uses; *source.Client
// provides it. CreateContact must retry only what cannot have created the
// contact.
type API interface {
	LeadStatuses(ctx context.Context) ([]contact.LeadStatus, error)
	Contacts(ctx context.Context, query string, each func(raw json.RawMessage) error) error
	CreateContact(ctx context.Context, fields map[string]any) (contact.Contact, error)
}

// Policy says what to do with a record whose email the workspace has.
type Policy string

const (
	Skip   Policy = "skip"   // leave it out (the default)
	Create Policy = "create" // create it anyway
)

// Options is one import.
type Options struct {
	Files   []string
	Mapping Mapping // CSV columns to fields, beyond the header names
	// LeadStatus, a label or an id, is given to records that name none.
	LeadStatus  string
	OnDuplicate Policy
	// Concurrency is how many creates are in flight at once; 1 when zero.
	Concurrency int
	// DryRun does everything but the creates and the ledger writes.
	DryRun bool
	// Rounds is how many times creates whose outcome is unknown are
	// looked for in the workspace and, if absent, sent again.
	Rounds int
}

// Importer runs imports.
type Importer struct {
	API API
	// Ledger remembers, by fingerprint, the records imported so far; each
	// write must be durable when it returns.
	Ledger state.Ledger
	// Logger gets the progress of an import; nothing is logged when nil.
	Logger *slog.Logger

	// wait pauses between rounds; tests shorten it.
	wait func(ctx context.Context, d time.Duration) error
}

// Run imports the files. Its Result, even when it also returns an error,
// says what became of every record read. Without a Result nothing was
// sent, and the error says why: an *ArgumentError for wrong options, else
// a file that cannot be read as a whole or a failure to learn what the
// workspace holds.
func (imp *Importer) Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.OnDuplicate == "" {
		opts.OnDuplicate = Skip
	}
	if opts.OnDuplicate != Skip && opts.OnDuplicate != Create {
		return nil, &ArgumentError{fmt.Errorf("--on-duplicate: %q is not skip or create", opts.OnDuplicate)}
	}
	opts.Concurrency = max(opts.Concurrency, 1)
	statuses, err := imp.API.LeadStatuses(ctx)
	if err != nil {
		return nil, err
	}
	v := &validator{statuses: statuses}
	if opts.LeadStatus != "" {
		if v.defaultStatus, err = v.statuses.resolve(opts.LeadStatus); err != nil {
			return nil, &ArgumentError{fmt.Errorf("--lead-status: %w", err)}
		}
	}
	res, err := read(opts, v)
	if err != nil {
		return nil, err
	}
	imp.log().Info("import: read", "records", len(res.Records), "files", len(opts.Files))
	if err := imp.plan(ctx, res, opts); err != nil {
		return nil, err
	}
	if opts.DryRun {
		return res, nil
	}
	return res, imp.send(ctx, res, opts)
}

func (imp *Importer) log() *slog.Logger {
	if imp.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return imp.Logger
}

// Outcome is what became of a record.
type Outcome string

const (
	Created  Outcome = "created"
	Skipped  Outcome = "skipped"
	Rejected Outcome = "rejected" // invalid, by our check or the API's 400
	Failed   Outcome = "failed"
	ToCreate Outcome = "to-create" // a dry run's outcome for what a real run would create
)

// Record is one record of the input and what became of it.
type Record struct {
	Location
	Fields // as sent, or as they would be
	// NotImported names what the record holds that Connect's create
	// cannot take (a vCard's PHOTO, a CSV column mapped to nothing).
	NotImported []string
	Outcome     Outcome
	// Reason says why a record was skipped, rejected or failed.
	Reason string
	// ContactID is the created contact, or the existing one a skip names.
	ContactID string
	// Duplicate marks a record skipped for repeating an earlier one of the
	// input.
	Duplicate bool

	fingerprint string
}

// Result is what an import did.
type Result struct {
	Records []*Record
	// Warnings are about files as a whole: columns no field takes, vCard
	// properties Connect cannot hold.
	Warnings []string
	DryRun   bool
}

// Count returns how many records had the outcome.
func (r *Result) Count(o Outcome) int {
	n := 0
	for _, rec := range r.Records {
		if rec.Outcome == o {
			n++
		}
	}
	return n
}

// OK reports whether every record was created or skipped (or, in a dry
// run, would be).
func (r *Result) OK() bool {
	return r.Count(Rejected) == 0 && r.Count(Failed) == 0
}
