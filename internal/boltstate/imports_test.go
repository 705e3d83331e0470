package boltstate

import (
	"bytes"
	"os"
	"testing"

	"github.com/connect-sync/connect-sync/internal/state"
)

func TestOldStateFileGainsTheImportsBucket(t *testing.T) {
	path := oldStateFile(t)
	before, _ := os.ReadFile(path)

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := workspace(t, ro, state.DefaultWorkspace).ImportedContact(t.Context(), "a"); err != nil || found {
		t.Errorf("read-only, without the bucket: found %v, err %v", found, err)
	}
	ro.Close()
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a read-only open changed the old file")
	}

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := workspace(t, db, state.DefaultWorkspace)
	if err := w.BeginImports(t.Context(), []string{"a"}); err != nil {
		t.Fatalf("the bucket was not created on open: %v", err)
	}
	if err := w.RecordImport(t.Context(), "a", "1"); err != nil {
		t.Fatal(err)
	}
}
