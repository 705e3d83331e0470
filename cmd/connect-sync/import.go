package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/connect-sync/connect-sync/internal/atomicfile"
	"github.com/connect-sync/connect-sync/internal/backend"
	"github.com/connect-sync/connect-sync/internal/importer"
	"github.com/connect-sync/connect-sync/internal/state"
	"github.com/connect-sync/connect-sync/internal/terminal"
)

// maxConcurrency bounds --concurrency: more parallel creates than this
// only earns 429s from an API that publishes no rate limit.
const maxConcurrency = 16

var importCommand = command{
	name:    "import",
	summary: "create contacts in Connect from CSV and vCard files",
	usage:   "connect-sync import [--workspace NAME] [--map COLUMN=FIELD,...] [--lead-status LABEL] [--on-duplicate skip|create] [--concurrency N] [--dry-run] [--report FILE] FILE...",
	doc: `Creates contacts from CSV and vCard files (.csv, .vcf, .vcard; others by
content). Every record is checked by the API's rules before anything is sent.
Records whose email the workspace has are skipped, and so are those an earlier
import created, so an import run again after a failure creates no duplicates.
Flags may come before, between and after the files.`,
	files: true,
	flags: func(fs *flag.FlagSet) action {
		f := &importFlags{common: commonFlags(fs), opts: importer.Options{OnDuplicate: importer.Skip}}
		fs.StringVar(&f.workspace, "workspace", "", "the workspace to import into, by `name` (required when the config has several)")
		fs.Var(&f.opts.Mapping, "map", "`column=field,...`: read these CSV columns as these fields (named as in the csv sink's header); column= leaves a column out quietly; repeatable")
		fs.StringVar(&f.opts.LeadStatus, "lead-status", "", "lead status, by `label` or id, for records that name none")
		wordVar(fs, (*string)(&f.opts.OnDuplicate), "on-duplicate", string(importer.Skip), "what to do with a record whose email the workspace has: skip it, or create it all the same", string(importer.Skip), string(importer.Create))
		fs.IntVar(&f.opts.Concurrency, "concurrency", 2, fmt.Sprintf("creates in flight at once, `n` from 1 to %d", maxConcurrency))
		fs.BoolVar(&f.opts.DryRun, "dry-run", false, "read, validate and check for duplicates, print what would be done; create nothing, write no state")
		fs.StringVar(&f.report, "report", "", "write one CSV row per input record (outcome, reason, contact id) to this `file`")
		return func(ctx context.Context, files []string, stdout, stderr io.Writer) error {
			f.opts.Files = files
			return runImport(ctx, f, stdout, stderr)
		}
	},
}

// importFlags are import's flags.
type importFlags struct {
	*common
	opts              importer.Options
	workspace, report string
}

func runImport(ctx context.Context, f *importFlags, stdout, stderr io.Writer) (err error) {
	if f.opts.Concurrency < 1 || f.opts.Concurrency > maxConcurrency {
		return usageError{err: fmt.Errorf("--concurrency: %d is not between 1 and %d", f.opts.Concurrency, maxConcurrency)}
	}
	logger, cfg, err := f.load(stderr)
	if err != nil {
		return err
	}
	if err := needsStateFile(cfg, "import"); err != nil {
		return err
	}
	ws, err := oneWorkspace(cfg, f.workspace)
	if err != nil {
		return err
	}
	src, err := openSource(ws, redactor(ws), logger, nil, "")
	if err != nil {
		return err
	}
	f.opts.Rounds = ws.Connect.MaxRetries
	ledger, closeLedger, err := openLedger(ctx, cfg.State.Path, ws.Name, f.opts.DryRun)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeLedger()) }()
	imp := &importer.Importer{API: src, Ledger: ledger, Logger: logger}
	res, err := imp.Run(ctx, f.opts)
	if errors.As(err, new(*importer.ArgumentError)) {
		return usageError{err: err}
	}
	return finishImport(res, err, f.report, stdout, stderr)
}

// finishImport prints what the import did, writes the report file, and
// turns rejected or failed records into an error, for the exit code.
func finishImport(res *importer.Result, err error, reportPath string, stdout, stderr io.Writer) error {
	if res == nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "warning: "+terminal.Escape(w))
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

// openLedger opens the state file that remembers a workspace's imports. A
// dry run opens it read-only, or does without one that does not exist yet
// (or a workspace without state yet), so that it writes nothing.
func openLedger(ctx context.Context, path, workspace string, dryRun bool) (state.Ledger, func() error, error) {
	open := backend.OpenFile
	if dryRun {
		open = backend.OpenFileReadOnly
	}
	f, err := open(path)
	if dryRun && errors.Is(err, os.ErrNotExist) {
		return noImports{}, func() error { return nil }, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ws, err := f.Workspace(ctx, workspace)
	switch {
	case err == nil:
		return ws, f.Close, nil
	case dryRun && errors.Is(err, state.ErrNotFound):
		return noImports{}, f.Close, nil
	}
	return nil, nil, errors.Join(err, f.Close())
}

// noImports is the ledger of a state file that does not exist yet; a dry
// run never writes to it.
type noImports struct{}

func (noImports) ImportedContact(context.Context, string) (state.Import, bool, error) {
	return state.Import{}, false, nil
}
func (noImports) BeginImports(context.Context, []string) error       { return errors.New("dry run") }
func (noImports) RecordImport(context.Context, string, string) error { return errors.New("dry run") }
func (noImports) AbandonImport(context.Context, string) error        { return errors.New("dry run") }
