package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/state"
)

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("status", stderr)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.LoadState(c.configPath)
	if err != nil {
		return err
	}
	st, err := readStatus(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(stdout, st)
	return nil
}

// readStatus reads the state file, or, while a running service holds it,
// asks the service's HTTP listener.
func readStatus(ctx context.Context, cfg *config.Config) (state.Status, error) {
	db, err := state.OpenReadOnly(cfg.State.Path)
	switch {
	case err == nil:
		defer db.Close()
		return db.Status()
	case errors.Is(err, state.ErrLocked) && cfg.HTTP.Listen != "":
		var st state.Status
		if herr := callService(ctx, cfg.HTTP.Listen, http.MethodGet, "/status", &st); herr != nil {
			return st, fmt.Errorf("%w; asking the service on http.listen failed too: %w", err, herr)
		}
		return st, nil
	}
	return state.Status{}, err
}

func printStatus(w io.Writer, st state.Status) {
	if st.LastRun == nil {
		fmt.Fprintln(w, "last run: none yet")
	} else {
		r := st.LastRun
		fmt.Fprintf(w, "last run: %s, %s (took %s)\n", r.Result, r.FinishedAt.Local().Format(time.DateTime), r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
		if r.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", r.Error)
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
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Name, s.Type, s.Delivered, s.Pending, s.DeadLetters, success, s.LastError)
	}
	tw.Flush()
	for _, s := range st.Sinks {
		if s.Disabled != "" {
			fmt.Fprintf(w, "%s: DISABLED: %s; `connect-sync redeliver --sink %s --all` enables it again\n", s.Name, s.Disabled, s.Name)
		}
		for _, f := range s.Failures {
			fmt.Fprintf(w, "%s: contact %s: %s\n", s.Name, f.Contact, f.Error)
		}
		for _, l := range s.DeadLetterList {
			fmt.Fprintf(w, "%s: dead letter %s: contact %s %s, %s: %s\n", s.Name, l.Event, l.Contact, l.Kind, l.At.Local().Format(time.DateTime), l.Error)
		}
		if more := s.DeadLetters - len(s.DeadLetterList); more > 0 {
			fmt.Fprintf(w, "%s: %d more dead letters\n", s.Name, more)
		}
	}
}
