// Package secret holds credentials (API keys, passwords, webhook secrets) in
// a type that cannot be printed, logged or serialised by accident.
package secret

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

const redacted = "[redacted]"

// String is a secret value. Its String, GoString, LogValue, JSON and YAML
// forms are all redacted; Reveal is the only way to read it, so every place
// that uses the secret is easy to find.
//
// The value hides behind a function because fmt prints the unexported
// fields of a struct that holds a String without calling its methods; a
// function prints as an address.
type String struct {
	value func() string
}

// New wraps a secret value.
func New(value string) String { return String{value: func() string { return value }} }

// Reveal returns the secret itself, for the one place that must send it.
func (s String) Reveal() string {
	if s.value == nil {
		return ""
	}
	return s.value()
}

// IsZero reports whether the secret is empty.
func (s String) IsZero() bool { return s.Reveal() == "" }

func (s String) String() string   { return redacted }
func (s String) GoString() string { return redacted }

// LogValue keeps the secret out of structured logs.
func (s String) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON keeps the secret out of JSON output.
func (s String) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalYAML keeps the secret out of YAML output.
func (s String) MarshalYAML() (any, error) { return redacted, nil }

// UnmarshalYAML reads the secret from a config file.
func (s *String) UnmarshalYAML(node *yaml.Node) error {
	var value string
	if err := node.Decode(&value); err != nil {
		return err
	}
	*s = New(value)
	return nil
}

// ErrEmpty is ReadFile's error for a file that holds only white space.
var ErrEmpty = errors.New("is empty")

// ReadFile reads a secret kept in a file (a systemd credential, a mounted
// secret), without the white space around it that editors and echo leave.
// Its errors name the file.
func ReadFile(path string) (String, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return String{}, err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return String{}, fmt.Errorf("%s %w", path, ErrEmpty)
	}
	return New(s), nil
}

// Read returns the secret of a pair of settings, one for the value and
// one for a file that holds it (password and password_file): the file's
// content when file is set, else value.
func Read(value String, file string) (String, error) {
	if file == "" {
		return value, nil
	}
	return ReadFile(file)
}
