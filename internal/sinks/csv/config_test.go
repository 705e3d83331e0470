package csv_test

import (
	"errors"
	"testing"

	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/sinks/csv"
)

func TestDefaultConfig(t *testing.T) {
	if !csv.DefaultConfig().FormulaGuard {
		t.Error("formula guard off by default")
	}
}

func TestValidate(t *testing.T) {
	err := csv.DefaultConfig().Validate()
	var fe *sinks.FieldError
	if !errors.As(err, &fe) || fe.Key != "path" || err.Error() != "path: is required" {
		t.Errorf("no path: %v, want path: is required", err)
	}
	cfg := csv.DefaultConfig()
	cfg.Path = "contacts.csv"
	if err := cfg.Validate(); err != nil {
		t.Errorf("with a path: %v", err)
	}
}

// TestFormat checks that the guard's second version has a format of its
// own, so a file the first version wrote is written again whole, and that
// a file written without the guard, which did not change, keeps its own.
func TestFormat(t *testing.T) {
	on, off := csv.DefaultConfig(), csv.DefaultConfig()
	off.FormulaGuard = false
	if got := on.Format(); got == "csv_formula_guard=true" || got == off.Format() {
		t.Errorf("guard on: format %q, the first guard's or the one without it", got)
	}
	if got := off.Format(); got != "csv_formula_guard=false" {
		t.Errorf("guard off: format %q, want csv_formula_guard=false as before", got)
	}
}

func TestOnDrift(t *testing.T) {
	for value, want := range map[string]string{"": "repair", "repair": "repair", "report": "report"} {
		c := csv.DefaultConfig()
		c.Path, c.OnDrift = "x.csv", value
		if err := c.Validate(); err != nil || c.DriftPolicy() != want {
			t.Errorf("on_drift %q: %v, policy %q; want %q", value, err, c.DriftPolicy(), want)
		}
	}
	c := csv.DefaultConfig()
	c.Path, c.OnDrift = "x.csv", "ignore"
	if err := c.Validate(); err == nil || err.Error() != `on_drift: "ignore" is not repair or report` {
		t.Errorf("on_drift ignore: %v", err)
	}
}
