package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

// runCheck validates the config, reaches the API and checks each sink's
// destination, printing what it found; it fails if anything is wrong.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("check", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	logger, cfg, err := c.load(stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "config %s: ok\n", c.configPath)
	src, err := openSource(cfg, logger, nil)
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
	opened, err := openSinks(cfg, logger, nil, nil)
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
