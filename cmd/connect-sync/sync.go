package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/connect-sync/connect-sync/internal/backend"
	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/metrics"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"
	"github.com/connect-sync/connect-sync/internal/terminal"
)

var syncCommand = command{
	name:    "sync",
	summary: "run one sync of every workspace, then exit",
	usage:   "connect-sync sync [--workspace NAME] [--sink NAME] [--dry-run] [--allow-mass-delete] [--metrics-textfile FILE]",
	doc: `Fetches each workspace's contacts, works out what changed since the last
run and delivers the changes to every sink, the workspaces at once, each in a
run of its own. On a terminal a progress line shows what was fetched and
delivered (of a lone workspace's run). It exits 1 when a sink still has
changes it could not deliver.`,
	flags: func(fs *flag.FlagSet) action {
		f := &syncFlags{common: commonFlags(fs)}
		fs.StringVar(&f.workspace, "workspace", "", "the workspace to sync, by `name` (default: every workspace in the config)")
		fs.StringVar(&f.only, "sink", "", "the one sink to deliver to, by `name` (the others still get the changes queued); needs one workspace")
		fs.BoolVar(&f.dryRun, "dry-run", false, "fetch and diff, print what would change, write nothing")
		fs.BoolVar(&f.allowMassDelete, "allow-mass-delete", false, "let this run delete more than sync.max_delete_fraction of the contacts")
		fs.StringVar(&f.textfile, "metrics-textfile", "", "after the run, write its metrics to this `file` (atomically) for node_exporter's textfile collector")
		return func(ctx context.Context, _ []string, stdout, stderr io.Writer) error {
			return runSync(ctx, f, stdout, stderr)
		}
	},
}

// syncFlags are sync's flags.
type syncFlags struct {
	*common
	workspace, only, textfile string
	dryRun, allowMassDelete   bool
}

func runSync(ctx context.Context, f *syncFlags, stdout, stderr io.Writer) error {
	logger, cfg, err := f.load(stderr)
	if err != nil {
		return err
	}
	if err := needsStateFile(cfg, "sync"); err != nil {
		return err
	}
	selected, err := selectWorkspaces(cfg, f.workspace)
	if err != nil {
		return err
	}
	if f.only != "" {
		ws, err := oneWorkspace(cfg, f.workspace)
		if err != nil {
			return usageError{err: fmt.Errorf("--sink: %w", err)}
		}
		if _, ok := ws.Sink(f.only); !ok {
			return usageError{err: fmt.Errorf("--sink: no sink named %q in workspace %s of %s", f.only, ws.Name, f.configPath)}
		}
	}
	if f.dryRun {
		return printDryRuns(ctx, cfg, selected, logger, stdout)
	}
	// Metrics are gathered only to be written: without a textfile a
	// one-shot run has no use for them.
	var m *metrics.Metrics
	if f.textfile != "" {
		m = metrics.New(version(), false)
	}
	err = syncWorkspaces(ctx, cfg, selected, runFlags{allowMassDelete: f.allowMassDelete, only: f.only}, logger, newProgress(stderr), m)
	if m != nil {
		// Written whatever happened, a failure to open the state file
		// included: a stale file would tell the last good run's story.
		if werr := m.WriteTextfile(f.textfile); werr != nil {
			err = errors.Join(err, fmt.Errorf("--metrics-textfile: %w", werr))
		}
	}
	return err
}

// runFlags are the command line's part of a one-shot run's options.
type runFlags struct {
	allowMassDelete bool
	only            string
}

// syncWorkspaces syncs the workspaces at once, each in a run of its own,
// with the state file opened for them; m, when set, gets each run and, at
// the end, the state's gauges. The progress line shows a lone workspace's
// run only.
func syncWorkspaces(ctx context.Context, cfg *config.Config, list []config.Workspace, flags runFlags, logger *slog.Logger, progress *progressLine, m *metrics.Metrics) error {
	started := time.Now()
	file, err := backend.OpenFile(cfg.State.Path)
	if err != nil {
		if m != nil {
			for _, ws := range list {
				m.Workspace(ws.Name).ObserveRun(started, time.Now(), engine.Report{}, err)
			}
		}
		return err
	}
	defer file.Close()
	if len(list) > 1 {
		progress = nil
	}
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for i, ws := range list {
		wg.Go(func() {
			var mw *metrics.Workspace
			if m != nil {
				mw = m.Workspace(ws.Name)
			}
			opts := runOptions(&ws)
			opts.AllowMassDelete, opts.Only = flags.allowMassDelete, flags.only
			r := workspaceRun{cfg: cfg, ws: &ws, logger: workspaceLogger(logger, cfg, ws.Name), metrics: mw}
			st, err := file.Workspace(ctx, ws.Name)
			var report engine.Report
			if err == nil {
				report, err = r.sync(ctx, st, opts, progress)
			}
			if mw != nil {
				mw.ObserveRun(started, time.Now(), report, err)
				if st != nil {
					if status, serr := st.Status(ctx); serr == nil {
						mw.ObserveState(status)
					}
				}
			}
			if err != nil && len(list) > 1 {
				err = fmt.Errorf("workspace %s: %w", ws.Name, err)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runOptions are the options a workspace's config gives its runs.
func runOptions(ws *config.Workspace) engine.Options {
	return engine.Options{Query: ws.Connect.Query, MaxDeleteFraction: ws.Sync.MaxDeleteFraction}
}

// workspaceLogger names the workspace in a logger's lines when the config
// has several.
func workspaceLogger(logger *slog.Logger, cfg *config.Config, name string) *slog.Logger {
	if len(cfg.Workspaces) == 1 {
		return logger
	}
	return logger.With("workspace", name)
}

// workspaceRun is what a sync of one workspace needs besides its state.
type workspaceRun struct {
	cfg     *config.Config
	ws      *config.Workspace
	logger  *slog.Logger
	metrics *metrics.Workspace // nil when nobody reads the metrics
	// instance is this instance's name when it shares the workspaces with
	// others (state.backend nats).
	instance string
	// residents is what the service's sinks keep from run to run (a
	// vcard-dir folder's watch); nil in a one-shot run.
	residents *sinks.Residents
}

// sync builds the workspace's source and sinks, runs one sync with its
// state st and logs the outcome. Both the one-shot command and the service
// run this. Failing to build the source or a sink is recorded in the state
// as a failed run, like the engine records its own.
func (r workspaceRun) sync(ctx context.Context, st state.Store, opts engine.Options, progress *progressLine) (engine.Report, error) {
	started := time.Now()
	redact := redactor(r.ws)
	src, err := openSource(r.ws, redact, r.logger, r.metrics, r.instance)
	var sinkList []engine.Sink
	if err == nil {
		sinkList, err = openSinks(r.ws, redact, r.logger, st, r.metrics, r.residents)
	}
	if err != nil {
		run := state.Run{StartedAt: started, FinishedAt: time.Now(), Result: state.RunFailed, Error: err.Error()}
		err = errors.Join(err, st.RecordRun(context.WithoutCancel(ctx), run))
		logReport(r.logger, engine.Report{}, err)
		return engine.Report{}, err
	}
	e := &engine.Engine{
		Source: src, Store: st, Sinks: sinkList, Logger: r.logger, Progress: progress.reporter(),
		SpoolDir: spoolDir(r.cfg),
	}
	report, err := e.Run(ctx, opts)
	progress.clear()
	err = errors.Join(err, closeSinks(sinkList))
	logReport(r.logger, report, err)
	return report, err
}

func logReport(logger *slog.Logger, r engine.Report, err error) {
	for _, s := range r.Sinks {
		level := slog.LevelInfo
		if s.Delivered == 0 && s.Pending == 0 && s.Err == nil {
			level = slog.LevelDebug // a quiet poll logs one line, not one per sink
		}
		logger.Log(context.Background(), level, "sink done", "sink", s.Name, "delivered", s.Delivered, "pending", s.Pending, "failed_contacts", len(s.Failures))
	}
	// A failed run's error is the caller's to report, once: the one-shot
	// command prints it as it exits, the service logs it.
	attrs := []any{"created", r.Created, "updated", r.Updated, "deleted", r.Deleted}
	if r.Skipped > 0 {
		attrs = append(attrs, "skipped", r.Skipped)
	}
	logger.Info("sync finished", append(attrs, "ok", err == nil)...)
}

// printDryRuns prints the dry run of each workspace, under its name when
// there are several.
func printDryRuns(ctx context.Context, cfg *config.Config, list []config.Workspace, logger *slog.Logger, stdout io.Writer) error {
	// A dry run does not lock the state file, so its folder is not its
	// own: it spools to the temporary folder.
	file, err := backend.OpenFileReadOnly(cfg.State.Path)
	switch {
	case err == nil:
		defer file.Close()
	case errors.Is(err, os.ErrNotExist):
		file = nil
	default:
		return err
	}
	var errs []error
	for i, ws := range list {
		if len(list) > 1 {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "workspace %s:\n", ws.Name)
		}
		if err := printDryRun(ctx, file, &ws, workspaceLogger(logger, cfg, ws.Name), stdout); err != nil {
			if len(list) > 1 {
				err = fmt.Errorf("workspace %s: %w", ws.Name, err)
			}
			errs = append(errs, err) // the other workspaces' plans are still worth printing
		}
	}
	return errors.Join(errs...)
}

// printDryRun fetches and diffs a workspace against its state in file
// (opened read-only, so that not a byte of it changes; nil when there is
// no state file yet), and prints the plan, its ids, emails and field
// names, which the API sent, escaped for the terminal.
func printDryRun(ctx context.Context, file *backend.File, ws *config.Workspace, logger *slog.Logger, stdout io.Writer) error {
	src, err := openSource(ws, redactor(ws), logger, nil, "")
	if err != nil {
		return err
	}
	var cp state.Checkpoint = emptyCheckpoint{}
	if file != nil {
		st, err := file.Workspace(ctx, ws.Name)
		switch {
		case err == nil:
			cp = st
		case !errors.Is(err, state.ErrNotFound):
			return err
		}
	}
	e := &engine.Engine{Source: src, Logger: logger}
	plan, err := e.Detect(ctx, ws.Connect.Query, cp)
	if err != nil {
		return err
	}
	defer plan.Close()
	for batch, err := range plan.Batches(ctx) {
		if err != nil {
			return err
		}
		for _, d := range batch {
			c := d.Change
			line := fmt.Sprintf("%-7s %s %s", c.Kind, c.Contact.ID, c.Contact.Email)
			if len(c.ChangedFields) > 0 {
				line += " (" + strings.Join(c.ChangedFields, ", ") + ")"
			}
			fmt.Fprintln(stdout, terminal.Escape(strings.TrimSpace(line)))
		}
	}
	fmt.Fprintf(stdout, "dry run: %d to create, %d to update, %d to delete; nothing was written\n", plan.Created, plan.Updated, plan.Deleted)
	if len(plan.Skipped) > 0 {
		fmt.Fprintf(stdout, "a real run would fail: %v\n", &contact.SkippedError{Contacts: plan.Skipped})
	}
	if err := plan.CheckDeletes(ws.Sync.MaxDeleteFraction); err != nil {
		fmt.Fprintf(stdout, "a real run would stop: %v\n", err)
	}
	return nil
}

// emptyCheckpoint stands for a state file that does not exist yet.
type emptyCheckpoint struct{}

func (emptyCheckpoint) Checkpoint(context.Context) (map[string]state.Entry, error) {
	return map[string]state.Entry{}, nil
}

func (emptyCheckpoint) IDs(context.Context) ([]string, error) { return nil, nil }

func (emptyCheckpoint) Snapshots(context.Context, []string) (map[string]json.RawMessage, error) {
	return map[string]json.RawMessage{}, nil
}

// spoolDir is where runs keep what they fetched until they commit it:
// beside the state file, which this process holds, a folder the service
// may write to, and on disk rather than on a /tmp that may be RAM. With
// the state in JetStream there is no such folder: the temporary one.
func spoolDir(cfg *config.Config) string {
	if cfg.State.Backend == config.BackendNATS {
		return ""
	}
	return filepath.Dir(cfg.State.Path)
}
