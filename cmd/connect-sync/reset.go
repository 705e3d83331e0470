package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/state"
)

func runReset(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("reset", stderr)
	name := fs.String("sink", "", "the sink to reset (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usageError{errors.New("reset: --sink NAME is required")}
	}
	cfg, err := config.LoadState(c.configPath)
	if err != nil {
		return err
	}
	db, err := state.Open(cfg.State.Path)
	if err != nil {
		return err
	}
	defer db.Close()
	known, err := db.Sinks()
	if err != nil {
		return err
	}
	if _, ok := known[*name]; !ok {
		return usageError{fmt.Errorf("reset: the state file has no sink named %q", *name)}
	}
	if err := db.DropSink(*name); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sink %s reset: the next sync back-fills it with every current contact\n", *name)
	return nil
}
