package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/terminal"
)

var checkCommand = command{
	name:    "check",
	summary: "validate the config, reach the API, check each sink's destination",
	usage:   "connect-sync check [--workspace NAME]",
	doc: `Validates the config, then for each workspace calls the API, prints the
workspace, the user and the lead statuses, and checks that each sink's
destination is writable.`,
	flags: func(fs *flag.FlagSet) action {
		f := &checkFlags{common: commonFlags(fs)}
		fs.StringVar(&f.workspace, "workspace", "", "the workspace to check, by `name` (default: every workspace in the config)")
		return func(ctx context.Context, _ []string, stdout, stderr io.Writer) error {
			return runCheck(ctx, f, stdout, stderr)
		}
	},
}

// checkFlags are check's flags.
type checkFlags struct {
	*common
	workspace string
}

// runCheck validates the config, reaches the API and checks each sink's
// destination, for every workspace (or the one --workspace names),
// printing what it found; it fails if anything is wrong.
func runCheck(ctx context.Context, f *checkFlags, stdout, stderr io.Writer) error {
	logger, cfg, err := f.load(stderr)
	if err != nil {
		return err
	}
	selected, err := selectWorkspaces(cfg, f.workspace)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "config %s: ok\n", f.configPath)
	var errs []error
	for _, ws := range selected {
		if len(cfg.Workspaces) > 1 {
			fmt.Fprintf(stdout, "\nworkspace %s:\n", ws.Name)
		}
		if err := check(ctx, &ws, workspaceLogger(logger, cfg, ws.Name), stdout); err != nil {
			if len(cfg.Workspaces) > 1 {
				err = fmt.Errorf("workspace %s: %w", ws.Name, err)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// check reaches a workspace's API and checks its sinks' destinations. What
// the API and the destinations answer is escaped for the terminal.
func check(ctx context.Context, ws *config.Workspace, logger *slog.Logger, stdout io.Writer) error {
	redact := redactor(ws)
	src, err := openSource(ws, redact, logger, nil, "")
	if err != nil {
		return err
	}
	me, err := src.Me(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "workspace \"%s\", user %s <%s>\n", terminal.Escape(me.Workspace), terminal.Escape(me.UserName), terminal.Escape(me.UserEmail))
	statuses, err := src.LeadStatuses(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "lead statuses:")
	for _, s := range statuses {
		fmt.Fprintf(stdout, "  %s  %-24s %s\n", terminal.Escape(s.ID), terminal.Escape(s.Label), terminal.Escape(s.Type))
	}
	opened, err := openSinks(ws, redact, logger, nil, nil, nil)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range opened {
		checker, ok := s.Sink.(sinks.Checker)
		if !ok {
			continue
		}
		if err := checker.Check(ctx); err != nil {
			fmt.Fprintf(stdout, "sink %s: %s\n", s.Name, terminal.Escape(err.Error()))
			errs = append(errs, fmt.Errorf("sink %s: %w", s.Name, err))
			continue
		}
		fmt.Fprintf(stdout, "sink %s (%s): ok\n", s.Name, s.Type)
	}
	return errors.Join(append(errs, closeSinks(opened))...)
}
