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
	workspace := workspaceFlag(fs, "the sink's workspace (required when the config has several)")
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
	ws, err := oneWorkspace(cfg, *workspace)
	if err != nil {
		return err
	}
	db, err := state.Open(cfg.State.Path)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Workspace(ws.Name)
	if err != nil {
		return err
	}
	known, err := st.Sinks()
	if err != nil {
		return err
	}
	if _, ok := known[*name]; !ok {
		return usageError{fmt.Errorf("reset: the state file has no sink named %q in workspace %s", *name, ws.Name)}
	}
	if err := st.DropSink(*name); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sink %s reset: the next sync back-fills it with every current contact\n", *name)
	return nil
}
