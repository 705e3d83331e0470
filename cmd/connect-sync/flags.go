package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/connect-sync/connect-sync/internal/config"
)

// common are the flags every command that reads the config takes.
type common struct {
	configPath string
	logFormat  string
	logLevel   string
}

// newFlagSet returns a command's flag set with the common flags on it.
func newFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &common{}
	defaultConfig := os.Getenv("CONNECT_SYNC_CONFIG")
	if defaultConfig == "" {
		defaultConfig = "./config.yaml"
	}
	fs.StringVar(&c.configPath, "config", defaultConfig, "config file (default $CONNECT_SYNC_CONFIG, else ./config.yaml)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return fs, c
}

// parse parses the command line; flag errors are usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// load returns the logger the flags ask for and the config, for the
// commands that log.
func (c *common) load(stderr io.Writer) (*slog.Logger, *config.Config, error) {
	logger, err := c.logger(stderr)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(c.configPath)
	return logger, cfg, err
}

// workspaceFlag adds --workspace to a command's flags.
func workspaceFlag(fs *flag.FlagSet, usage string) *string {
	return fs.String("workspace", "", usage)
}

// selectWorkspaces returns the workspace --workspace names, or every
// configured one when it names none.
func selectWorkspaces(cfg *config.Config, name string) ([]config.Workspace, error) {
	if name == "" {
		return cfg.Workspaces, nil
	}
	ws, ok := cfg.Workspace(name)
	if !ok {
		return nil, usageError{fmt.Errorf("--workspace: no workspace named %q in the config (it has %s)", name, workspaceNames(cfg))}
	}
	return []config.Workspace{*ws}, nil
}

// oneWorkspace returns the workspace a command that works on one acts on:
// the one --workspace names, or the only one configured.
func oneWorkspace(cfg *config.Config, name string) (*config.Workspace, error) {
	if name == "" && len(cfg.Workspaces) > 1 {
		return nil, usageError{fmt.Errorf("--workspace NAME is required: the config has several (%s)", workspaceNames(cfg))}
	}
	list, err := selectWorkspaces(cfg, name)
	if err != nil {
		return nil, err
	}
	return &list[0], nil
}

func workspaceNames(cfg *config.Config) string {
	names := make([]string, len(cfg.Workspaces))
	for i, w := range cfg.Workspaces {
		names[i] = w.Name
	}
	return strings.Join(names, ", ")
}
