package csv

import (
	"errors"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Config is the csv sink's entry in the config file.
type Config struct {
	// Path is the file that holds the contacts; its folder must exist.
	Path string `yaml:"path"`
	// FormulaGuard prefixes cells that a spreadsheet would run as a formula
	// with an apostrophe and removes NUL bytes (spreadsheet.Guard).
	FormulaGuard       bool `yaml:"csv_formula_guard"`
	sinks.DriftSetting `yaml:",inline"`
}

// DefaultConfig returns the settings that apply before the config file is
// read: the formula guard is on.
func DefaultConfig() *Config {
	return &Config{FormulaGuard: true}
}

// Validate reports a missing path.
func (c *Config) Validate() error {
	if c.Path == "" {
		return &sinks.FieldError{Key: "path", Err: errors.New("is required")}
	}
	return c.DriftSetting.Validate()
}

// Target is the file's absolute path.
func (c *Config) Target() string { return sinks.AbsPath(c.Path) }

// Clash refuses a second sink on the file: each would delete the
// contacts the other wrote, as contacts it does not have.
func (c *Config) Clash(other sinks.Neighbour) *sinks.FieldError {
	if o, ok := other.Config.(*Config); ok && o.Target() == c.Target() {
		return sinks.SharedDestination("path", "file", other)
	}
	return nil
}

// Format names the formula guard setting, which changes every row it
// applies to. The guard's second version ("v2": cells formulas after
// blanks, full-width formula signs, NUL bytes) has a format of its own, so
// that a file the first one wrote, whose rows may hold such cells
// unguarded, is written again whole; with the guard off nothing changed.
func (c *Config) Format() string {
	if !c.FormulaGuard {
		return "csv_formula_guard=false"
	}
	return "csv_formula_guard=v2"
}

// Open creates the sink. It touches nothing on disk: the file is read on
// the first delivery.
func (c *Config) Open(env sinks.Env) (sinks.Sink, error) {
	return &Sink{path: c.Path, name: env.Name, guard: c.FormulaGuard, logger: env.Logger}, nil
}
