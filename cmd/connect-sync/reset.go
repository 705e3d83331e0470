package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/connect-sync/connect-sync/internal/backend"
	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/state"
)

var resetCommand = command{
	name:    "reset",
	summary: "forget one sink's deliveries so the next run back-fills it",
	usage:   "connect-sync reset [--workspace NAME] --sink NAME",
	doc: `Drops the sink's queue and delivery record: the next run back-fills it with
every current contact. Use it after deleting or moving a sink's output.`,
	flags: func(fs *flag.FlagSet) action {
		f := &resetFlags{common: commonFlags(fs)}
		fs.StringVar(&f.workspace, "workspace", "", "the sink's workspace, by `name` (required when the config has several)")
		fs.StringVar(&f.sink, "sink", "", "the sink to reset, by `name` (required)")
		return func(ctx context.Context, _ []string, stdout, _ io.Writer) error {
			return runReset(ctx, f, stdout)
		}
	},
}

// resetFlags are reset's flags.
type resetFlags struct {
	*common
	workspace, sink string
}

func runReset(ctx context.Context, f *resetFlags, stdout io.Writer) error {
	if f.sink == "" {
		return usageError{err: errors.New("reset: --sink NAME is required")}
	}
	cfg, err := config.LoadState(f.configPath)
	if err != nil {
		return err
	}
	if err := needsStateFile(cfg, "reset"); err != nil {
		return err
	}
	ws, err := oneWorkspace(cfg, f.workspace)
	if err != nil {
		return err
	}
	file, err := backend.OpenFile(cfg.State.Path)
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := existingWorkspace(ctx, file, ws.Name)
	if err != nil {
		return err
	}
	known, err := st.Sinks(ctx)
	if err != nil {
		return err
	}
	if _, ok := known[f.sink]; !ok {
		return usageError{err: fmt.Errorf("reset: the state file has no sink named %q in workspace %s", f.sink, ws.Name)}
	}
	if err := st.DropSink(ctx, f.sink); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sink %s reset: the next sync back-fills it with every current contact\n", f.sink)
	return nil
}

// existingWorkspace returns a workspace that has state already: commands
// that change a sink's state do not create a workspace's state to find it
// has no such sink.
func existingWorkspace(ctx context.Context, file *backend.File, name string) (state.Store, error) {
	names, err := file.Workspaces()
	if err != nil {
		return nil, err
	}
	if !slices.Contains(names, name) {
		return nil, usageError{err: fmt.Errorf("the state file has no workspace %q yet: it has no sink to act on before its first sync", name)}
	}
	return file.Workspace(ctx, name)
}
