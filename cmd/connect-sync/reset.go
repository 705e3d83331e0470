package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

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
	if err := needsStateFile(cfg, "reset"); err != nil {
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
	st, err := existingWorkspace(db, ws.Name)
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

// existingWorkspace returns a workspace that has state already: commands
// that change a sink's state do not create a workspace's state to find it
// has no such sink.
func existingWorkspace(db *state.DB, name string) (*state.Workspace, error) {
	names, err := db.Workspaces()
	if err != nil {
		return nil, err
	}
	if !slices.Contains(names, name) {
		return nil, usageError{fmt.Errorf("the state file has no workspace %q yet: it has no sink to act on before its first sync", name)}
	}
	return db.Workspace(name)
}
