package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/connect-sync/connect-sync/internal/backend"
	"github.com/connect-sync/connect-sync/internal/config"
)

var redeliverCommand = command{
	name:    "redeliver",
	summary: "send a sink's dead letters again (and enable a sink disabled by a 410)",
	usage:   "connect-sync redeliver [--workspace NAME] --sink NAME (--event ID | --all)",
	doc: `Puts a sink's dead letters, the changes it refused for good (status lists
them), back in its queue for the next run, each carrying its contact as it is
now, so nothing older lands over newer data; also enables a sink that a 410
Gone disabled. While a run service holds the state file, it asks the service
through its listener.`,
	flags: func(fs *flag.FlagSet) action {
		f := &redeliverFlags{common: commonFlags(fs)}
		fs.StringVar(&f.workspace, "workspace", "", "the sink's workspace, by `name` (required when the config has several)")
		fs.StringVar(&f.sink, "sink", "", "the sink whose dead letters to send again, by `name` (required)")
		fs.StringVar(&f.event, "event", "", "the one dead letter to send again, by its event `id` (see status)")
		fs.BoolVar(&f.all, "all", false, "send every dead letter again")
		return func(ctx context.Context, _ []string, stdout, _ io.Writer) error {
			return runRedeliver(ctx, f, stdout)
		}
	},
}

// redeliverFlags are redeliver's flags.
type redeliverFlags struct {
	*common
	workspace, sink, event string
	all                    bool
}

// runRedeliver puts a sink's dead letters back in its queue, so the next
// run sends them again, and enables a sink disabled by a 410.
func runRedeliver(ctx context.Context, f *redeliverFlags, stdout io.Writer) error {
	switch {
	case f.sink == "":
		return usageError{err: errors.New("redeliver: --sink NAME is required")}
	case (f.event == "") == !f.all:
		return usageError{err: errors.New("redeliver: give --event ID or --all")}
	}
	cfg, err := config.LoadState(f.configPath)
	if err != nil {
		return err
	}
	if err := needsStateFile(cfg, "redeliver"); err != nil {
		return err
	}
	ws, err := oneWorkspace(cfg, f.workspace)
	if err != nil {
		return err
	}
	n, err := redeliver(ctx, cfg, ws.Name, f.sink, f.event)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sink %s: %d dead letters queued again; the next sync sends them\n", f.sink, n)
	return nil
}

// redeliver moves dead letters back in the queue through the state file,
// or, while a running service holds it, through the service.
func redeliver(ctx context.Context, cfg *config.Config, workspace, sink, event string) (int, error) {
	file, err := backend.OpenFile(cfg.State.Path)
	switch {
	case err == nil:
		defer file.Close()
		st, err := existingWorkspace(ctx, file, workspace)
		if err != nil {
			return 0, err
		}
		known, err := st.Sinks(ctx)
		if err != nil {
			return 0, err
		}
		if _, ok := known[sink]; !ok {
			return 0, usageError{err: fmt.Errorf("redeliver: the state file has no sink named %q in workspace %s", sink, workspace)}
		}
		return st.Redeliver(ctx, sink, event)
	case errors.Is(err, backend.ErrLocked) && cfg.HTTP.Listen != "":
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
