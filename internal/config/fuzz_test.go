package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to Parse. It must never panic; it must
// return a config with at least one sink, each with its settings, or
// errors that are each a *Error naming the file, with a line, when there is
// one, that the file has; and the same file must give the same errors. The seeds in testdata/fuzz/FuzzParse hold
// anchors and aliases, merge keys, odd sink entries and broken YAML.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if _, again := Parse("fuzz.yaml", data); fmt.Sprint(again) != fmt.Sprint(err) {
			t.Fatalf("the same file gives different errors:\n%v\n%v", err, again)
		}
		if err == nil {
			if len(cfg.Sinks) == 0 {
				t.Fatal("a config without sinks")
			}
			for i, s := range cfg.Sinks {
				if s.Config == nil {
					t.Errorf("sinks[%d] has no settings", i)
				}
			}
			return
		}
		lines := lineCount(data)
		for _, e := range leaves(err) {
			var cfgErr *Error
			switch {
			case !errors.As(e, &cfgErr):
				t.Errorf("%T is not a *config.Error: %v", e, e)
			case cfgErr.File != "fuzz.yaml" || !strings.HasPrefix(e.Error(), "fuzz.yaml"):
				t.Errorf("error does not name the file: %v", e)
			case cfgErr.Line < 0 || cfgErr.Line > lines:
				t.Errorf("line %d in a file of %d lines: %v", cfgErr.Line, lines, e)
			}
		}
	})
}

// lineCount counts lines the way YAML does: a lone CR, NEL, LS or PS ends
// a line as LF and CRLF do.
func lineCount(data []byte) int {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	return 1 + strings.Count(text, "\n") + strings.Count(text, "\r") +
		strings.Count(text, "\u0085") + strings.Count(text, "\u2028") + strings.Count(text, "\u2029")
}

// leaves returns the errors that errors.Join put together, or err alone.
func leaves(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}
