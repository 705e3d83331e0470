package state

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestImportLedger(t *testing.T) {
	db, path := openTemp(t)
	check := func(fp string, want Import, wantFound bool) {
		t.Helper()
		got, found, err := db.ImportedContact(fp)
		if err != nil || got != want || found != wantFound {
			t.Errorf("ImportedContact(%s) = %+v, %v, %v; want %+v, %v", fp, got, found, err, want, wantFound)
		}
	}
	check("a", Import{}, false)

	if err := db.BeginImports([]string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	check("a", Import{}, true)
	if imp, _, _ := db.ImportedContact("a"); !imp.Pending() {
		t.Error("a begun import is not pending")
	}

	if err := db.RecordImport("c", "9"); err != nil {
		t.Fatal(err)
	}
	if err := db.BeginImports([]string{"c"}); err != nil {
		t.Fatal(err)
	}
	check("c", Import{}, true) // created again: contact 9 is gone
	if err := db.RecordImport("a", "17"); err != nil {
		t.Fatal(err)
	}
	check("a", Import{ContactID: "17"}, true)

	if err := db.AbandonImport("b"); err != nil {
		t.Fatal(err)
	}
	check("b", Import{}, false)
	if err := db.AbandonImport("a"); err != nil {
		t.Fatal(err)
	}
	check("a", Import{ContactID: "17"}, true) // a created contact is never forgotten
	if err := db.AbandonImport("never-begun"); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordImport("b", ""); err == nil {
		t.Error("an empty contact id was recorded")
	}

	db.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if imp, found, err := db.ImportedContact("a"); err != nil || !found || imp.ContactID != "17" {
		t.Errorf("after reopening: %+v, %v, %v", imp, found, err)
	}
}

// oldStateFile writes a state file as connect-sync wrote it before imports
// existed: schema 1 without the imports bucket.
func oldStateFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketContacts, bucketSnapshots, bucketChanges, bucketSinks} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	return path
}

func TestOldStateFileGainsTheImportsBucket(t *testing.T) {
	path := oldStateFile(t)
	before, _ := os.ReadFile(path)

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := ro.ImportedContact("a"); err != nil || found {
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
	if err := db.BeginImports([]string{"a"}); err != nil {
		t.Fatalf("the bucket was not created on open: %v", err)
	}
	if err := db.RecordImport("a", "1"); err != nil {
		t.Fatal(err)
	}
	db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySchema); string(v) != "1" {
			t.Errorf("schema %q, want 1", v)
		}
		return nil
	})
}
