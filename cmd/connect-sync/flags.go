package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

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
