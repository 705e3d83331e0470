// Package vcarddir is the vcard-dir sink: a folder with one vCard file per
// contact, the vdir layout that khard, vdirsyncer and phone sync apps read.
package vcarddir

import (
	"errors"
	"fmt"
	"io"
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
	// AuditRuns is how many runs the sampled sweep of the audit takes to
	// look at every card (see Sink.Audit): each run looks at that
	// fraction of them, or at 100, whichever is more.
	AuditRuns          int `yaml:"audit_runs"`
	sinks.DriftSetting `yaml:",inline"`
}

// DefaultAuditRuns is AuditRuns' default: a run looks at 1,000 cards of
// 100,000, and reads 50, in about 6 ms (BenchmarkAuditUntouched).
const DefaultAuditRuns = 100

// DefaultConfig returns the settings that apply before the entry is decoded.
func DefaultConfig() *Config {
	return &Config{Version: card.Version3, AuditRuns: DefaultAuditRuns}
}

// Validate checks the settings; errors are *sinks.FieldError.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.Path) == "" {
		return &sinks.FieldError{Key: "path", Err: errors.New("is required")}
	}
	if c.Version != card.Version3 && c.Version != card.Version4 {
		return &sinks.FieldError{Key: "version", Err: fmt.Errorf("must be \"3.0\" or \"4.0\", not %q", c.Version)}
	}
	if c.AuditRuns < 1 {
		return &sinks.FieldError{Key: "audit_runs", Err: fmt.Errorf("must be at least 1, not %d", c.AuditRuns)}
	}
	return c.DriftSetting.Validate()
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
// The folder's watch is the service's (env.Residents), which outlives the
// run, or else the sink's own, for the run.
func (c *Config) Open(env sinks.Env) (sinks.Sink, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("vcarddir: %w", err)
	}
	s := &Sink{
		dir:       c.Path,
		opts:      card.Options{Version: c.Version, SourceURL: env.SourceURL},
		pool:      sinks.Pool{Workers: lanes, Logger: env.Logger},
		logger:    env.Logger,
		auditRuns: c.AuditRuns,
		watches:   &folderWatch{dir: c.Path, logger: env.Logger},
	}
	if env.Residents == nil {
		s.ownWatches = true
		return s, nil
	}
	kept, err := env.Residents.Get("vcard-dir "+c.Target(), func() (io.Closer, error) { return s.watches, nil })
	if err != nil {
		return nil, err
	}
	s.watches = kept.(*folderWatch)
	return s, nil
}
