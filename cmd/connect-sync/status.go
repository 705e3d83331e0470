package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/connect-sync/connect-sync/internal/backend"
	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/lease"
	"github.com/connect-sync/connect-sync/internal/service"
	"github.com/connect-sync/connect-sync/internal/state"
	"github.com/connect-sync/connect-sync/internal/terminal"
)

var statusCommand = command{
	name:    "status",
	summary: "show the last run and each sink's progress from the state",
	usage:   "connect-sync status [--workspace NAME] [--json]",
	doc: `For each workspace: the last run and the last success, the contacts
tracked, and per sink the changes delivered and pending, its dead letters, its
last error and the contacts it could not take. While a run service holds the
state file, status asks the service's listener; with state.backend nats it also
says which instance holds each workspace. It exits 0 whenever it could read the
state.`,
	flags: func(fs *flag.FlagSet) action {
		f := &statusFlags{common: commonFlags(fs)}
		fs.StringVar(&f.workspace, "workspace", "", "the workspace to show, by `name` (default: every workspace in the config)")
		fs.BoolVar(&f.asJSON, "json", false, "print the status as JSON")
		return func(ctx context.Context, _ []string, stdout, _ io.Writer) error {
			return runStatus(ctx, f, stdout)
		}
	},
}

// statusFlags are status's flags.
type statusFlags struct {
	*common
	workspace string
	asJSON    bool
}

func runStatus(ctx context.Context, f *statusFlags, stdout io.Writer) error {
	cfg, err := config.LoadState(f.configPath)
	if err != nil {
		return err
	}
	selected, err := selectWorkspaces(cfg, f.workspace)
	if err != nil {
		return err
	}
	st, err := readStatus(ctx, cfg, selected)
	if err != nil {
		return err
	}
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	holders := map[string]lease.Holder{}
	for _, h := range st.Holders {
		holders[h.Workspace] = h
	}
	for i, ws := range st.Workspaces {
		if len(cfg.Workspaces) > 1 {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "workspace %s\n", ws.Workspace)
		}
		if cfg.State.Backend == config.BackendNATS {
			printHolder(stdout, holders[ws.Workspace])
		}
		printStatus(stdout, ws, len(cfg.Workspaces) > 1)
	}
	return nil
}

// printHolder says which instance holds a workspace's lease.
func printHolder(w io.Writer, h lease.Holder) {
	switch {
	case h.Instance == "":
		fmt.Fprintln(w, "held by: no instance")
	case !h.Live:
		fmt.Fprintf(w, "held by: %s, since %s, which has stopped renewing (its lease lapses soon)\n", terminal.Escape(h.Instance), h.AcquiredAt.Local().Format(time.DateTime))
	default:
		fmt.Fprintf(w, "held by: %s (%s, pid %d), since %s\n", terminal.Escape(h.Instance), terminal.Escape(h.Host), h.PID, h.AcquiredAt.Local().Format(time.DateTime))
	}
}

// readStatus reads the workspaces' state from the state file, or, while a
// running service holds it, asks the service's HTTP listener. A workspace
// without state yet has an empty status.
func readStatus(ctx context.Context, cfg *config.Config, list []config.Workspace) (service.Status, error) {
	if cfg.State.Backend == config.BackendNATS {
		return readSharedStatus(ctx, cfg, list)
	}
	var st service.Status
	file, err := backend.OpenFileReadOnly(cfg.State.Path)
	switch {
	case err == nil:
		defer file.Close()
		for _, ws := range list {
			s, err := file.Status(ctx, ws.Name)
			if err != nil {
				return st, err
			}
			st.Workspaces = append(st.Workspaces, s)
		}
		return st, nil
	case errors.Is(err, backend.ErrLocked) && cfg.HTTP.Listen != "":
		var all service.Status
		if herr := callService(ctx, cfg.HTTP.Listen, http.MethodGet, "/status", &all); herr != nil {
			return st, fmt.Errorf("%w; asking the service on http.listen failed too: %w", err, herr)
		}
		if len(all.Workspaces) == 0 {
			return st, fmt.Errorf("%w; the service on http.listen answered without workspaces: an older connect-sync? Restart it with this version", err)
		}
		for _, s := range all.Workspaces {
			if slices.ContainsFunc(list, func(ws config.Workspace) bool { return ws.Name == s.Workspace }) {
				st.Workspaces = append(st.Workspaces, s)
			}
		}
		return st, nil
	}
	return st, err
}

// printStatus prints one workspace's status; several says whether the
// config has others, which its commands must then name. Contact ids and
// errors, which may quote what a server answered, are escaped for the
// terminal.
func printStatus(w io.Writer, st state.Status, several bool) {
	redeliver := "connect-sync redeliver"
	if several {
		redeliver += " --workspace " + st.Workspace
	}
	if st.LastRun == nil {
		fmt.Fprintln(w, "last run: none yet")
	} else {
		r := st.LastRun
		fmt.Fprintf(w, "last run: %s, %s (took %s)\n", r.Result, r.FinishedAt.Local().Format(time.DateTime), r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
		if r.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", terminal.Escape(r.Error))
		}
		if r.Result != state.RunSucceeded && st.LastSuccessAt != nil {
			fmt.Fprintf(w, "last success: %s\n", st.LastSuccessAt.Local().Format(time.DateTime))
		}
	}
	fmt.Fprintf(w, "contacts tracked: %d\n\n", st.Contacts)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SINK\tTYPE\tDELIVERED\tPENDING\tDEAD LETTERS\tLAST SUCCESS\tLAST ERROR")
	for _, s := range st.Sinks {
		success := "never"
		if s.LastSuccessAt != nil {
			success = s.LastSuccessAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Name, s.Type, s.Delivered, s.Pending, s.DeadLetters, success, terminal.Escape(s.LastError))
	}
	tw.Flush()
	for _, s := range st.Sinks {
		if s.Disabled != "" {
			fmt.Fprintf(w, "%s: DISABLED: %s; `%s --sink %s --all` enables it again\n", s.Name, terminal.Escape(s.Disabled), redeliver, s.Name)
		}
		if d := s.LastDrift; d != nil {
			what := "repaired"
			if !d.Repaired {
				what = "left as it is (on_drift: report)"
			}
			fmt.Fprintf(w, "%s: last drift from the source, %s: %d missing, %d modified, %d left over; %s\n",
				s.Name, d.At.Local().Format(time.DateTime), d.Missing, d.Modified, d.Extra, what)
		}
		for _, f := range s.Failures {
			fmt.Fprintf(w, "%s: contact %s: %s\n", s.Name, terminal.Escape(f.Contact), terminal.Escape(f.Error))
		}
		for _, l := range s.DeadLetterList {
			fmt.Fprintf(w, "%s: dead letter %s: contact %s %s, %s: %s\n", s.Name, l.Event, terminal.Escape(l.Contact), l.Kind, l.At.Local().Format(time.DateTime), terminal.Escape(l.Error))
		}
		if more := s.DeadLetters - len(s.DeadLetterList); more > 0 {
			fmt.Fprintf(w, "%s: %d more dead letters\n", s.Name, more)
		}
	}
}

// readSharedStatus reads the workspaces' state and leases from JetStream,
// writing nothing: the instances holding them may be writing meanwhile.
func readSharedStatus(ctx context.Context, cfg *config.Config, list []config.Workspace) (service.Status, error) {
	names := make([]string, len(list))
	for i, ws := range list {
		names[i] = ws.Name
	}
	var (
		st  service.Status
		err error
	)
	st.Workspaces, st.Holders, err = backend.SharedStatus(ctx, cfg.State.NATS, names)
	return st, err
}
