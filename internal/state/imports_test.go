package state

import (
	"bytes"
	"os"
	"testing"
)

func TestImportLedger(t *testing.T) {
	db, path := openTemp(t)
	w := workspace(t, db, DefaultWorkspace)
	check := func(fp string, want Import, wantFound bool) {
		t.Helper()
		got, found, err := w.ImportedContact(fp)
		if err != nil || got != want || found != wantFound {
			t.Errorf("ImportedContact(%s) = %+v, %v, %v; want %+v, %v", fp, got, found, err, want, wantFound)
		}
	}
	check("a", Import{}, false)

	if err := w.BeginImports([]string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	check("a", Import{}, true)
	if imp, _, _ := w.ImportedContact("a"); !imp.Pending() {
		t.Error("a begun import is not pending")
	}

	if err := w.RecordImport("c", "9"); err != nil {
		t.Fatal(err)
	}
	if err := w.BeginImports([]string{"c"}); err != nil {
		t.Fatal(err)
	}
	check("c", Import{}, true) // created again: contact 9 is gone
	if err := w.RecordImport("a", "17"); err != nil {
		t.Fatal(err)
	}
	check("a", Import{ContactID: "17"}, true)

	if err := w.AbandonImport("b"); err != nil {
		t.Fatal(err)
	}
	check("b", Import{}, false)
	if err := w.AbandonImport("a"); err != nil {
		t.Fatal(err)
	}
	check("a", Import{ContactID: "17"}, true) // a created contact is never forgotten
	if err := w.AbandonImport("never-begun"); err != nil {
		t.Fatal(err)
	}
	if err := w.RecordImport("b", ""); err == nil {
		t.Error("an empty contact id was recorded")
	}

	db.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if imp, found, err := workspace(t, db, DefaultWorkspace).ImportedContact("a"); err != nil || !found || imp.ContactID != "17" {
		t.Errorf("after reopening: %+v, %v, %v", imp, found, err)
	}
}

func TestOldStateFileGainsTheImportsBucket(t *testing.T) {
	path := oldStateFile(t)
	before, _ := os.ReadFile(path)

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := workspace(t, ro, DefaultWorkspace).ImportedContact("a"); err != nil || found {
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
	w := workspace(t, db, DefaultWorkspace)
	if err := w.BeginImports([]string{"a"}); err != nil {
		t.Fatalf("the bucket was not created on open: %v", err)
	}
	if err := w.RecordImport("a", "1"); err != nil {
		t.Fatal(err)
	}
}
