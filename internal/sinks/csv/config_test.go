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
