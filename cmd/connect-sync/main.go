// Command connect-sync syncs the contacts of a Connect (Skarbe CRM)
// workspace to CSV files, vCard folders and other sinks.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// commands maps each subcommand to its implementation.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"sync":      runSync,
	"run":       runRun,
	"check":     runCheck,
	"status":    runStatus,
	"reset":     runReset,
	"redeliver": runRedeliver,
	"import":    runImport,
	"demo":      runDemo,
	"version":   runVersion,
}

const usage = `usage: connect-sync COMMAND [flags]

commands:
  sync      run one sync, then exit
  run       run as a service: sync on the config's schedule, serve metrics and health
  check     validate the config, reach the API, check each sink's destination
  status    show the last run and each sink's progress from the state file
  reset     forget one sink's deliveries so the next run back-fills it
  redeliver send a sink's dead letters again (and enable a sink disabled by a 410)
  import    create contacts in Connect from CSV and vCard files
  demo      run the whole pipeline against a built-in fake API
  version   print the version

Run 'connect-sync COMMAND -h' for a command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{fmt.Errorf("no command given\n\n%s", usage)}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return usageError{fmt.Errorf("unknown command %q\n\n%s", args[0], usage)}
	}
	return cmd(ctx, args[1:], stdout, stderr)
}
