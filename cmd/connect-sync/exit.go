package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/terminal"
)

// The exit codes, in one place.
const (
	exitOK      = 0 // every sink is up to date
	exitFailure = 1 // the run failed, a sink still has undelivered changes, or a contact was skipped
	exitUsage   = 2 // bad command line or config (a missing API key included)
)

// exitStatuses say what the exit codes mean, for the man page.
var exitStatuses = []struct {
	code    int
	meaning string
}{
	{exitOK, "success: for sync, every sink is up to date"},
	{exitFailure, "the run failed (an API error, the delete guard, the state file held by another process), a sink still has undelivered changes, a change became a dead letter, or a contact too large to take was skipped (the others synced)"},
	{exitUsage, "a usage or config error, a missing API key included"},
}

// usageError marks errors in how connect-sync was called.
type usageError struct {
	err error
	// usage, when set, is printed after the error: how to call it right.
	usage string
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode prints err, escaped for the terminal (an error may quote what
// a server answered), and maps it to the exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "connect-sync: %s\n", terminal.EscapeLines(err.Error()))
	if ue := (usageError{}); errors.As(err, &ue) && ue.usage != "" {
		fmt.Fprintf(stderr, "\n%s", ue.usage)
	}
	var cfgErr *config.Error
	switch {
	case errors.As(err, new(usageError)), errors.As(err, &cfgErr), errors.Is(err, config.ErrNoAPIKey), errors.Is(err, config.ErrAPIKeyFile):
		return exitUsage
	}
	return exitFailure
}
