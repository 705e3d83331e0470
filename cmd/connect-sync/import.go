package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/connect-sync/connect-sync/internal/atomicfile"
	"github.com/connect-sync/connect-sync/internal/importer"
	"github.com/connect-sync/connect-sync/internal/state"
)

// maxConcurrency bounds --concurrency: more parallel creates than this
// only earns 429s from an API that publishes no rate limit.
const maxConcurrency = 16

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs, c := newFlagSet("import", stderr)
	opts, reportPath := importFlags(fs)
	workspace := workspaceFlag(fs, "the workspace to import into (required when the config has several)")
	if opts.Files, err = parseFiles(fs, args); err != nil {
		return err
	}
	if opts.Concurrency < 1 || opts.Concurrency > maxConcurrency {
		return usageError{fmt.Errorf("--concurrency: %d is not between 1 and %d", opts.Concurrency, maxConcurrency)}
	}
	logger, cfg, err := c.load(stderr)
	if err != nil {
		return err
	}
	if err := needsStateFile(cfg, "import"); err != nil {
		return err
	}
	ws, err := oneWorkspace(cfg, *workspace)
	if err != nil {
		return err
	}
	src, err := openSource(ws, logger, nil, "")
	if err != nil {
		return err
	}
	opts.Rounds = ws.Connect.MaxRetries
	ledger, closeLedger, err := openLedger(cfg.State.Path, ws.Name, opts.DryRun)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeLedger()) }()
	imp := &importer.Importer{API: src, Ledger: ledger, Logger: logger}
	res, err := imp.Run(ctx, *opts)
	if errors.As(err, new(*importer.ArgumentError)) {
		return usageError{err}
	}
	return finishImport(res, err, *reportPath, stdout, stderr)
}

// importFlags defines the import's flags on fs.
func importFlags(fs *flag.FlagSet) (*importer.Options, *string) {
	opts := &importer.Options{OnDuplicate: importer.Skip}
	fs.Var(&opts.Mapping, "map", "`column=field,...`: read these CSV columns as these fields (named as in the csv sink's header); column= leaves a column out quietly; repeatable")
	fs.StringVar(&opts.LeadStatus, "lead-status", "", "lead status, by `label` or id, for records that name none")
	fs.Func("on-duplicate", "a record whose email the workspace has: `skip` (the default) or create", func(v string) error {
		opts.OnDuplicate = importer.Policy(v)
		return nil
	})
	fs.IntVar(&opts.Concurrency, "concurrency", 2, "creates in flight at once")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "read, validate and check for duplicates, print what would be done; create nothing, write no state")
	reportPath := fs.String("report", "", "write one CSV row per input record (outcome, reason, contact id) to this `file`")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: connect-sync import [flags] FILE...\n\nCreates contacts from CSV and vCard files (.csv, .vcf, .vcard; others by content).")
		fs.PrintDefaults()
	}
	return opts, reportPath
}

// finishImport prints what the import did, writes the report file, and
// turns rejected or failed records into an error, for the exit code.
func finishImport(res *importer.Result, err error, reportPath string, stdout, stderr io.Writer) error {
	if res == nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	importer.Print(stdout, res)
	if reportPath != "" {
		werr := atomicfile.Write(reportPath, 0o600, func(w io.Writer) error { return importer.WriteReport(w, res) })
		err = errors.Join(err, werr)
	}
	if err == nil && !res.OK() {
		err = fmt.Errorf("import: %d rejected, %d failed", res.Count(importer.Rejected), res.Count(importer.Failed))
	}
	return err
}

// parseFiles parses the flags and returns the files named among them:
// flags may come before, between and after the files.
func parseFiles(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			files = append(files, rest...) // after "--" everything is a file
			break
		}
		files, args = append(files, rest[0]), rest[1:]
	}
	if len(files) == 0 {
		return nil, usageError{errors.New("import: no files given\n\nusage: connect-sync import [flags] FILE...")}
	}
	return files, nil
}

// openLedger opens the state file that remembers a workspace's imports. A
// dry run opens it read-only, or does without one that does not exist yet
// (or a workspace without state yet), so that it writes nothing.
func openLedger(path, workspace string, dryRun bool) (importer.Ledger, func() error, error) {
	open := state.Open
	if dryRun {
		open = state.OpenReadOnly
	}
	db, err := open(path)
	if dryRun && errors.Is(err, os.ErrNotExist) {
		return noImports{}, func() error { return nil }, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ws, err := db.Workspace(workspace)
	switch {
	case err == nil:
		return ws, db.Close, nil
	case dryRun && errors.Is(err, state.ErrNotFound):
		return noImports{}, db.Close, nil
	}
	return nil, nil, errors.Join(err, db.Close())
}

// noImports is the ledger of a state file that does not exist yet; a dry
// run never writes to it.
type noImports struct{}

func (noImports) ImportedContact(string) (state.Import, bool, error) {
	return state.Import{}, false, nil
}
func (noImports) BeginImports([]string) error       { return errors.New("dry run") }
func (noImports) RecordImport(string, string) error { return errors.New("dry run") }
func (noImports) AbandonImport(string) error        { return errors.New("dry run") }
