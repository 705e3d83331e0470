package vcarddir

import (
	"errors"
	"testing"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		path, version string
		auditRuns     int
		onDrift       string
		key, msg      string // the FieldError's key and message; "" for valid
	}{
		{"cards", "3.0", 50, "", "", ""},
		{"/var/lib/cards", "4.0", 1, "report", "", ""},
		{"", "3.0", 50, "", "path", "path: is required"},
		{"  ", "3.0", 50, "", "path", "path: is required"},
		{"cards", "2.1", 50, "", "version", `version: must be "3.0" or "4.0", not "2.1"`},
		{"cards", "", 50, "", "version", `version: must be "3.0" or "4.0", not ""`},
		{"cards", "3", 50, "", "version", `version: must be "3.0" or "4.0", not "3"`},
		{"cards", "3.0", 0, "", "audit_runs", "audit_runs: must be at least 1, not 0"},
		{"cards", "3.0", -5, "", "audit_runs", "audit_runs: must be at least 1, not -5"},
		{"cards", "3.0", 50, "fix", "on_drift", `on_drift: "fix" is not repair or report`},
	}
	for _, tt := range tests {
		cfg := &Config{Path: tt.path, Version: tt.version, AuditRuns: tt.auditRuns, DriftSetting: sinks.DriftSetting{OnDrift: tt.onDrift}}
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
	if cfg.Version != "3.0" || cfg.Path != "" || cfg.AuditRuns != 100 || cfg.DriftPolicy() != sinks.OnDriftRepair {
		t.Errorf("DefaultConfig() = %+v", cfg)
	}
	cfg.Path = "/srv/cards"
	if got := cfg.Target(); got != "/srv/cards" {
		t.Errorf("Target() = %q", got)
	}
}
