// Command connect-sync syncs the contacts of a Connect (Skarbe CRM)
// workspace to CSV files, vCard folders and other sinks.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// commands is the command table, in the order help lists it. A function
// rather than a variable: help, man and completion read the table they
// are in.
func commands() []command {
	return []command{
		syncCommand,
		runCommand,
		checkCommand,
		statusCommand,
		resetCommand,
		redeliverCommand,
		importCommand,
		demoCommand,
		versionCommand,
		helpCommand(),
		manCommand(),
		completionCommand(),
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{err: errors.New("no command given"), usage: overview()}
	}
	name := args[0]
	switch {
	case name == "-h" || name == "-help" || name == "--help":
		name = "help" // and --help sync is help sync
	case strings.HasPrefix(name, "-"):
		return flagsFirst(args)
	}
	c, err := lookup(name)
	if err != nil {
		return err
	}
	return c.run(ctx, args[1:], stdout, stderr)
}
