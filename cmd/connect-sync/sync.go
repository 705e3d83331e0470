package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/metrics"
	"github.com/connect-sync/connect-sync/internal/state"
)

func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("sync", stderr)
	only := fs.String("sink", "", "deliver to this sink only (the others still get the changes queued)")
	dryRun := fs.Bool("dry-run", false, "fetch and diff, print what would change, write nothing")
	allowMassDelete := fs.Bool("allow-mass-delete", false, "let this run delete more than sync.max_delete_fraction of the contacts")
	textfile := fs.String("metrics-textfile", "", "after the run, write its metrics to this file (atomically) for node_exporter's textfile collector")
	if err := parse(fs, args); err != nil {
		return err
	}
	logger, cfg, err := c.load(stderr)
	if err != nil {
		return err
	}
	if _, ok := cfg.Sink(*only); *only != "" && !ok {
		return usageError{fmt.Errorf("--sink: no sink named %q in %s", *only, c.configPath)}
	}
	if *dryRun {
		src, err := openSource(cfg, logger, nil)
		if err != nil {
			return err
		}
		// A dry run does not lock the state file, so its folder is not its
		// own: it spools to the temporary folder.
		return printDryRun(ctx, cfg, &engine.Engine{Source: src, Logger: logger}, stdout)
	}
	opts := engine.Options{
		Query:             cfg.Connect.Query,
		MaxDeleteFraction: cfg.Sync.MaxDeleteFraction,
		AllowMassDelete:   *allowMassDelete,
		Only:              *only,
	}
	// Metrics are gathered only to be written: without a textfile a
	// one-shot run has no use for them.
	var m *metrics.Metrics
	if *textfile != "" {
		m = metrics.New(version(), false)
	}
	started := time.Now()
	report, err := syncWithState(ctx, cfg, opts, logger, newProgress(stderr), m)
	if m != nil {
		// Written whatever happened, a failure to open the state file
		// included: a stale file would tell the last good run's story.
		m.ObserveRun(started, time.Now(), report, err)
		if werr := m.WriteTextfile(*textfile); werr != nil {
			err = errors.Join(err, fmt.Errorf("--metrics-textfile: %w", werr))
		}
	}
	return err
}

// syncWithState is one sync with the state file opened for it; m, when
// set, gets the state's gauges at the end.
func syncWithState(ctx context.Context, cfg *config.Config, opts engine.Options, logger *slog.Logger, progress *progressLine, m *metrics.Metrics) (engine.Report, error) {
	db, err := state.Open(cfg.State.Path)
	if err != nil {
		return engine.Report{}, err
	}
	defer db.Close()
	report, err := syncOnce(ctx, cfg, db, opts, logger, progress, m)
	if m != nil {
		if st, serr := db.Status(); serr == nil {
			m.ObserveState(st)
		}
	}
	return report, err
}

// syncOnce builds the source and the sinks, runs one sync with the state
// file db and logs its outcome; m, when set, counts the API requests. Both the
// one-shot command and the service run this. Failing to build the source
// or a sink is recorded in the state file as a failed run, like the
// engine records its own.
func syncOnce(ctx context.Context, cfg *config.Config, db *state.DB, opts engine.Options, logger *slog.Logger, progress *progressLine, m *metrics.Metrics) (engine.Report, error) {
	started := time.Now()
	src, err := openSource(cfg, logger, m)
	var sinkList []engine.Sink
	if err == nil {
		sinkList, err = openSinks(cfg, logger, db, m)
	}
	if err != nil {
		run := state.Run{StartedAt: started, FinishedAt: time.Now(), Result: state.RunFailed, Error: err.Error()}
		err = errors.Join(err, db.RecordRun(run))
		logReport(logger, engine.Report{}, err)
		return engine.Report{}, err
	}
	e := &engine.Engine{
		Source: src, Store: db, Sinks: sinkList, Logger: logger, Progress: progress.reporter(),
		// Beside the state file, which this run holds: a folder the service
		// may write to, and on disk rather than on a /tmp that may be RAM.
		SpoolDir: filepath.Dir(cfg.State.Path),
	}
	report, err := e.Run(ctx, opts)
	progress.clear()
	err = errors.Join(err, closeSinks(sinkList))
	logReport(logger, report, err)
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
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
	}
	logger.Log(context.Background(), level, "sync finished", "created", r.Created, "updated", r.Updated, "deleted", r.Deleted, "ok", err == nil)
}

// printDryRun fetches and diffs against the state file, opened read-only so
// that not a byte of it changes, and prints the plan.
func printDryRun(ctx context.Context, cfg *config.Config, e *engine.Engine, stdout io.Writer) error {
	var cp engine.Checkpoint = emptyCheckpoint{}
	db, err := state.OpenReadOnly(cfg.State.Path)
	switch {
	case err == nil:
		defer db.Close()
		cp = db
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	plan, err := e.Detect(ctx, cfg.Connect.Query, cp)
	if err != nil {
		return err
	}
	defer plan.Close()
	for batch, err := range plan.Batches() {
		if err != nil {
			return err
		}
		for _, d := range batch {
			c := d.Change
			line := fmt.Sprintf("%-7s %s %s", c.Kind, c.Contact.ID, c.Contact.Email)
			if len(c.ChangedFields) > 0 {
				line += " (" + strings.Join(c.ChangedFields, ", ") + ")"
			}
			fmt.Fprintln(stdout, strings.TrimSpace(line))
		}
	}
	fmt.Fprintf(stdout, "dry run: %d to create, %d to update, %d to delete; nothing was written\n", plan.Created, plan.Updated, plan.Deleted)
	if err := plan.CheckDeletes(cfg.Sync.MaxDeleteFraction); err != nil {
		fmt.Fprintf(stdout, "a real run would stop: %v\n", err)
	}
	return nil
}

// emptyCheckpoint stands for a state file that does not exist yet.
type emptyCheckpoint struct{}

func (emptyCheckpoint) Checkpoint() (map[string]state.Entry, error) {
	return map[string]state.Entry{}, nil
}

func (emptyCheckpoint) Snapshots([]string) (map[string]json.RawMessage, error) {
	return map[string]json.RawMessage{}, nil
}
