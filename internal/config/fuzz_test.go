package config

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
)

// FuzzParse feeds arbitrary files to Parse. It must never panic; it must
// return a config with at least one workspace, each named, with at least
// one sink, each with its settings, or errors that are each a *Error
// naming the file, with a line, when there is one, that the file has; and
// the same file must give the same errors. The seeds in
// testdata/fuzz/FuzzParse hold both forms, anchors and aliases, merge
// keys, odd sink and workspace entries and broken YAML.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if _, again := Parse("fuzz.yaml", data); fmt.Sprint(again) != fmt.Sprint(err) {
			t.Fatalf("the same file gives different errors:\n%v\n%v", err, again)
		}
		if err == nil {
			checkParsed(t, cfg)
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

// checkParsed checks what FuzzParse requires of a config without errors.
func checkParsed(t *testing.T, cfg *Config) {
	t.Helper()
	if len(cfg.Workspaces) == 0 {
		t.Fatal("a config without workspaces")
	}
	if b := cfg.State.Backend; b != BackendBbolt && b != BackendNATS {
		t.Errorf("state.backend = %q", b)
	}
	for i, w := range cfg.Workspaces {
		if w.Name == "" || w.Cron == nil || len(w.Sinks) == 0 {
			t.Errorf("workspaces[%d] = %+v: no name, schedule or sinks", i, w)
		}
		for j, s := range w.Sinks {
			if s.Config == nil {
				t.Errorf("workspaces[%d].sinks[%d] has no settings", i, j)
			}
		}
	}
}

// lineCount counts lines the way YAML does: in the text a UTF-16 byte
// order mark says is UTF-16, and with a lone CR, NEL, LS or PS ending a
// line as LF and CRLF do.
func lineCount(data []byte) int {
	text := strings.ReplaceAll(decodeUTF16(data), "\r\n", "\n")
	return 1 + strings.Count(text, "\n") + strings.Count(text, "\r") +
		strings.Count(text, "\u0085") + strings.Count(text, "\u2028") + strings.Count(text, "\u2029")
}

// decodeUTF16 returns the text of data, which is UTF-16 after its byte
// order mark, else UTF-8.
func decodeUTF16(data []byte) string {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		order = binary.LittleEndian
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		order = binary.BigEndian
	default:
		return string(data)
	}
	units := make([]uint16, 0, len(data)/2)
	for i := 2; i+1 < len(data); i += 2 {
		units = append(units, order.Uint16(data[i:]))
	}
	return string(utf16.Decode(units))
}

// leaves returns the errors that errors.Join put together, or err alone.
func leaves(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}
