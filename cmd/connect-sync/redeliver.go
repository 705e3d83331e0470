package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/connect-sync/connect-sync/internal/state"
)

// runRedeliver puts a sink's dead letters back in its queue, so the next
// run sends them again, and enables a sink disabled by a 410.
func runRedeliver(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("redeliver", stderr)
	name := fs.String("sink", "", "the sink whose dead letters to send again (required)")
	event := fs.String("event", "", "the one dead letter to send again, by its event id (see status)")
	all := fs.Bool("all", false, "send every dead letter again")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *name == "":
		return usageError{errors.New("redeliver: --sink NAME is required")}
	case (*event == "") == !*all:
		return usageError{errors.New("redeliver: give --event ID or --all")}
	}
	cfg, err := c.loadConfig()
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
		return usageError{fmt.Errorf("redeliver: the state file has no sink named %q", *name)}
	}
	n, err := db.Redeliver(*name, *event)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sink %s: %d dead letters queued again; the next sync sends them\n", *name, n)
	return nil
}
