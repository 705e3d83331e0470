package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestNeverPrinted(t *testing.T) {
	const key = "sk_live_0123456789"
	s := New(key)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "key", s)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "key", s)
	j, _ := json.Marshal(struct{ Key String }{s})
	y, _ := yaml.Marshal(struct{ Key String }{s})
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", s),
		"%+v":  fmt.Sprintf("%+v", s),
		"%#v":  fmt.Sprintf("%#v", s),
		"%s":   fmt.Sprintf("%s", s), //lint:ignore S1025 the verbs of fmt are what is tested
		"%q":   fmt.Sprintf("%q", s),
		"%x":   fmt.Sprintf("%x", s),
		"%v*":  fmt.Sprintf("%v", &s),
		"held": fmt.Sprintf("%+v %#v", struct{ key String }{s}, struct{ key String }{s}),
		"slog": logs.String(),
		"json": string(j),
		"yaml": string(y),
		"err":  fmt.Errorf("calling with %v: %w", s, fmt.Errorf("boom")).Error(),
	}
	for form, out := range outputs {
		if strings.Contains(out, key) || strings.Contains(out, fmt.Sprintf("%x", key)) {
			t.Errorf("%s form reveals the secret: %s", form, out)
		}
	}
	if s.Reveal() != key {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
}

func TestUnmarshalYAML(t *testing.T) {
	var v struct {
		Key String `yaml:"key"`
	}
	if err := yaml.Unmarshal([]byte("key: abc\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.Key.Reveal() != "abc" {
		t.Errorf("got %q", v.Key.Reveal())
	}
}
