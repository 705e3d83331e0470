// Package csv is the csv sink: one RFC 4180 file that always holds the
// current contacts, one row each, sorted by id. The file is rewritten
// atomically and durably, and only when a row changed, so its modification
// time says when the contacts it shows last changed.
//
// Cells a spreadsheet would run as a formula are prefixed with an apostrophe,
// and NUL bytes removed, unless csv_formula_guard is false (package
// spreadsheet). Lines end with LF, so a newline inside
// a cell reads back exactly as the API sent it.
package csv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/crashpoint"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Sink writes contacts to one CSV file. It stages a run's changes in memory
// and writes them all in Commit. It serves one run at a time.
type Sink struct {
	path   string
	name   string
	guard  bool
	logger *slog.Logger
	run    *run // nil until the run's first Deliver
	// swept is set once the temporary copies that a crash left before
	// their rename are removed: once per process, so that a copy another
	// writer of the file is making later is left alone.
	swept bool
	// sealed is the file as the sink last saw it, by its audit or its
	// write, nil until then.
	sealed *seal
}

// run is what the current run has staged: the file as it began, and the
// rows of the contacts it changed, keyed by their id cell, each the record
// as the file will hold it, without its newline ("" for a deleted contact:
// a row always has cells).
// Only the changes are kept apart: the file's other rows are copied as
// they are.
type run struct {
	file   *file
	staged map[string]string
}

// Deliver stages the changes. Its first call in a run reads the file; if
// that fails, every change fails with an error wrapping
// sinks.ErrUnavailable. Delivering a change again stages the same row.
func (s *Sink) Deliver(_ context.Context, batch []contact.Change) []error {
	errs := make([]error, len(batch))
	if s.run == nil {
		f, err := s.load()
		if err != nil {
			for i := range errs {
				errs[i] = err
			}
			return errs
		}
		s.run = &run{file: f, staged: map[string]string{}}
	}
	for i, ch := range batch {
		errs[i] = s.stage(ch)
		crashpoint.Hit("mid-batch") // part of the batch staged
	}
	return errs
}

func (s *Sink) stage(ch contact.Change) error {
	id, line, err := encodeRow(ch.Contact, s.guard)
	if err != nil {
		return fmt.Errorf("csv: contact %s: %w", ch.Contact.ID, err)
	}
	switch ch.Kind {
	case contact.Created, contact.Updated:
		s.run.staged[id] = strings.TrimSuffix(line, "\n") // as the file's rows are kept
	case contact.Deleted:
		s.run.staged[id] = ""
	default:
		return fmt.Errorf("csv: contact %s: unknown change kind %q", ch.Contact.ID, ch.Kind)
	}
	return nil
}

// Commit writes the file if the staged rows change it, or if there was no
// file. Either way the run is over: the next Deliver reads the file again,
// so a failed Commit leaves nothing half-staged.
func (s *Sink) Commit(ctx context.Context) error {
	r := s.run
	s.run = nil
	if r == nil || (r.file.found && !r.file.differs(r.staged)) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return s.write(r.file, r.staged)
}

// Check reports whether a file can be created in the folder, the way Commit
// creates one, and whether the file there, if any, has this version's
// header.
func (s *Sink) Check(context.Context) error {
	dir, base := filepath.Dir(s.path), filepath.Base(s.path)
	// Not named like the file's temporary copies, which a sync running
	// meanwhile would take for a crash's leftovers and remove.
	f, err := os.CreateTemp(dir, ".connect-sync-check-"+base+"-*")
	if err != nil {
		return unavailable("check", s.path, err)
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return unavailable("check", s.path, err)
	}
	_, err = s.load()
	return err
}

// Interface guards.
var (
	_ sinks.Sink      = (*Sink)(nil)
	_ sinks.Formatter = (*Config)(nil)
	_ sinks.Committer = (*Sink)(nil)
	_ sinks.Checker   = (*Sink)(nil)
	_ sinks.Config    = (*Config)(nil)
	_ sinks.Exclusive = (*Config)(nil)
)
