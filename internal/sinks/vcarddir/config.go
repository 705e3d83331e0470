// Package vcarddir is the vcard-dir sink: a folder with one vCard file per
// contact, the vdir layout that khard, vdirsyncer and phone sync apps read.
package vcarddir

import (
	"errors"
	"fmt"
	"strings"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Config is a vcard-dir sink's entry in the config file.
type Config struct {
	// Path is the folder; it is created with mode 0700 if missing.
	Path string `yaml:"path"`
	// Version is the vCard version written: "3.0" or "4.0".
	Version string `yaml:"version"`
}

// DefaultConfig returns the settings that apply before the entry is decoded.
func DefaultConfig() *Config {
	return &Config{Version: card.Version3}
}

// Validate checks the settings; errors are *sinks.FieldError.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.Path) == "" {
		return &sinks.FieldError{Key: "path", Err: errors.New("is required")}
	}
	if c.Version != card.Version3 && c.Version != card.Version4 {
		return &sinks.FieldError{Key: "version", Err: fmt.Errorf("must be \"3.0\" or \"4.0\", not %q", c.Version)}
	}
	return nil
}

// Target is the folder's absolute path.
func (c *Config) Target() string { return sinks.AbsPath(c.Path) }

// Clash refuses a second sink on the folder: each would delete the
// contacts the other wrote, as contacts it does not have.
func (c *Config) Clash(other sinks.Neighbour) *sinks.FieldError {
	if o, ok := other.Config.(*Config); ok && o.Target() == c.Target() {
		return sinks.SharedDestination("path", "folder", other)
	}
	return nil
}

// Format names the vCard version the cards are written in.
func (c *Config) Format() string { return "vcard " + c.Version }

// Open creates the sink. It touches nothing on disk: the first delivery
// creates the folder, so a folder that cannot be created (an unmounted
// drive) stops this sink alone, as unavailable, rather than every run.
func (c *Config) Open(env sinks.Env) (sinks.Sink, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("vcarddir: %w", err)
	}
	return &Sink{
		dir:    c.Path,
		opts:   card.Options{Version: c.Version, SourceURL: env.SourceURL},
		pool:   sinks.Pool{Workers: lanes, Logger: env.Logger},
		logger: env.Logger,
	}, nil
}
