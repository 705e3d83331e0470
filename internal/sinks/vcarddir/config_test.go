package vcarddir

import (
	"errors"
	"testing"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		path, version string
		key, msg      string // the FieldError's key and message; "" for valid
	}{
		{"cards", "3.0", "", ""},
		{"/var/lib/cards", "4.0", "", ""},
		{"", "3.0", "path", "path: is required"},
		{"  ", "3.0", "path", "path: is required"},
		{"cards", "2.1", "version", `version: must be "3.0" or "4.0", not "2.1"`},
		{"cards", "", "version", `version: must be "3.0" or "4.0", not ""`},
		{"cards", "3", "version", `version: must be "3.0" or "4.0", not "3"`},
	}
	for _, tt := range tests {
		cfg := &Config{Path: tt.path, Version: tt.version}
		err := cfg.Validate()
		if tt.key == "" {
			if err != nil {
				t.Errorf("%+v: unexpected error %v", cfg, err)
			}
			continue
		}
		var fe *sinks.FieldError
		if !errors.As(err, &fe) || fe.Key != tt.key || err.Error() != tt.msg {
			t.Errorf("%+v: error %v, want FieldError %q", cfg, err, tt.msg)
		}
		if _, err := cfg.Open(sinks.Env{}); err == nil {
			t.Errorf("%+v: Open accepted an invalid config", cfg)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.Version != "3.0" || cfg.Path != "" {
		t.Errorf("DefaultConfig() = %+v", cfg)
	}
	cfg.Path = "/srv/cards"
	if got := cfg.Target(); got != "/srv/cards" {
		t.Errorf("Target() = %q", got)
	}
}
