package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/state"
)

// runRedeliver puts a sink's dead letters back in its queue, so the next
// run sends them again, and enables a sink disabled by a 410.
func runRedeliver(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("redeliver", stderr)
	workspace := workspaceFlag(fs, "the sink's workspace (required when the config has several)")
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
	cfg, err := config.LoadState(c.configPath)
	if err != nil {
		return err
	}
	if err := needsStateFile(cfg, "redeliver"); err != nil {
		return err
	}
	ws, err := oneWorkspace(cfg, *workspace)
	if err != nil {
		return err
	}
	n, err := redeliver(ctx, cfg, ws.Name, *name, *event)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sink %s: %d dead letters queued again; the next sync sends them\n", *name, n)
	return nil
}

// redeliver moves dead letters back in the queue through the state file,
// or, while a running service holds it, through the service.
func redeliver(ctx context.Context, cfg *config.Config, workspace, sink, event string) (int, error) {
	db, err := state.Open(cfg.State.Path)
	switch {
	case err == nil:
		defer db.Close()
		st, err := existingWorkspace(db, workspace)
		if err != nil {
			return 0, err
		}
		known, err := st.Sinks()
		if err != nil {
			return 0, err
		}
		if _, ok := known[sink]; !ok {
			return 0, usageError{fmt.Errorf("redeliver: the state file has no sink named %q in workspace %s", sink, workspace)}
		}
		return st.Redeliver(sink, event)
	case errors.Is(err, state.ErrLocked) && cfg.HTTP.Listen != "":
		query := url.Values{"event": {event}, "workspace": {workspace}}
		if event == "" {
			query = url.Values{"all": {"true"}, "workspace": {workspace}}
		}
		var answer struct{ Requeued int }
		path := "/sinks/" + url.PathEscape(sink) + "/redeliver?" + query.Encode()
		if herr := callService(ctx, cfg.HTTP.Listen, http.MethodPost, path, &answer); herr != nil {
			return 0, fmt.Errorf("%w; asking the service on http.listen failed too: %w", err, herr)
		}
		return answer.Requeued, nil
	}
	return 0, err
}
