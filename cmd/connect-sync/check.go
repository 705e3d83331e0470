package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// runCheck validates the config, reaches the API and checks each sink's
// destination, for every workspace (or the one --workspace names),
// printing what it found; it fails if anything is wrong.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("check", stderr)
	workspace := workspaceFlag(fs, "check this workspace only (default: every workspace in the config)")
	if err := parse(fs, args); err != nil {
		return err
	}
	logger, cfg, err := c.load(stderr)
	if err != nil {
		return err
	}
	selected, err := selectWorkspaces(cfg, *workspace)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "config %s: ok\n", c.configPath)
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

// check reaches a workspace's API and checks its sinks' destinations.
func check(ctx context.Context, ws *config.Workspace, logger *slog.Logger, stdout io.Writer) error {
	src, err := openSource(ws, logger, nil, "")
	if err != nil {
		return err
	}
	me, err := src.Me(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "workspace %q, user %s <%s>\n", me.Workspace, me.UserName, me.UserEmail)
	statuses, err := src.LeadStatuses(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "lead statuses:")
	for _, s := range statuses {
		fmt.Fprintf(stdout, "  %s  %-24s %s\n", s.ID, s.Label, s.Type)
	}
	opened, err := openSinks(ws, logger, nil, nil)
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
			fmt.Fprintf(stdout, "sink %s: %v\n", s.Name, err)
			errs = append(errs, fmt.Errorf("sink %s: %w", s.Name, err))
			continue
		}
		fmt.Fprintf(stdout, "sink %s (%s): ok\n", s.Name, s.Type)
	}
	return errors.Join(append(errs, closeSinks(opened))...)
}
