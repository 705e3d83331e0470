package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/connect-sync/connect-sync/internal/state"
)

func runStatus(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("status", stderr)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	db, err := state.OpenReadOnly(cfg.State.Path)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Status()
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

func printStatus(w io.Writer, st state.Status) {
	if st.LastRun == nil {
		fmt.Fprintln(w, "last run: none yet")
	} else {
		r := st.LastRun
		fmt.Fprintf(w, "last run: %s, %s (took %s)\n", r.Result, r.FinishedAt.Local().Format(time.DateTime), r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
		if r.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", r.Error)
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
		for _, f := range s.Failures {
			fmt.Fprintf(w, "%s: contact %s: %s\n", s.Name, f.Contact, f.Error)
		}
	}
}
