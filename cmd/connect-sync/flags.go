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

// The config file when --config is not given: the one the environment
// variable names, else the default path.
const (
	configEnv         = "CONNECT_SYNC_CONFIG"
	defaultConfigPath = "./config.yaml"
)

// commonFlags defines the flags every command that reads the config
// takes.
func commonFlags(fs *flag.FlagSet) *common {
	c := &common{configPath: os.Getenv(configEnv)}
	if c.configPath == "" {
		c.configPath = defaultConfigPath
	}
	// A Func flag has no default of its own to show: help says where the
	// default comes from, once, not what it is in this environment.
	fs.Func("config", "config `file` (default: $"+configEnv+", else "+defaultConfigPath+")", func(path string) error {
		c.configPath = path
		return nil
	})
	wordVar(fs, &c.logFormat, "log-format", "text", "log format", "text", "json")
	wordVar(fs, &c.logLevel, "log-level", "info", "log level", "debug", "info", "warn", "error")
	return c
}

// commonFlagSet is a flag set with the common flags alone, which the man
// page describes once.
func commonFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("common", flag.ContinueOnError)
	commonFlags(fs)
	return fs
}

// wordFlag is a string flag whose values are a few words, which help and
// the man page show as its value and the completions offer. It takes any
// value all the same: the command checks it where it uses it, which is
// more lenient (--log-level takes DEBUG and warn+2 too).
type wordFlag struct {
	value *string
	words []string
}

// wordVar defines a word flag with its default value and its words.
func wordVar(fs *flag.FlagSet, p *string, name, value, usage string, words ...string) {
	*p = value
	fs.Var(wordFlag{p, words}, name, usage)
}

func (f wordFlag) String() string {
	if f.value == nil { // flag.Value: the flag package may call String on a zero value
		return ""
	}
	return *f.value
}

func (f wordFlag) Set(s string) error {
	*f.value = s
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

// selectWorkspaces returns the workspace --workspace names, or every
// configured one when it names none.
func selectWorkspaces(cfg *config.Config, name string) ([]config.Workspace, error) {
	if name == "" {
		return cfg.Workspaces, nil
	}
	ws, ok := cfg.Workspace(name)
	if !ok {
		return nil, usageError{err: fmt.Errorf("--workspace: no workspace named %q in the config (it has %s)", name, workspaceNames(cfg))}
	}
	return []config.Workspace{*ws}, nil
}

// oneWorkspace returns the workspace a command that works on one acts on:
// the one --workspace names, or the only one configured.
func oneWorkspace(cfg *config.Config, name string) (*config.Workspace, error) {
	if name == "" && len(cfg.Workspaces) > 1 {
		return nil, usageError{err: fmt.Errorf("--workspace NAME is required: the config has several (%s)", workspaceNames(cfg))}
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
