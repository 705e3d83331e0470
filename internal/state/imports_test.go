package state

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strconv"
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
// existed: schema 1 without the imports bucket, with the given checkpoint
// entries in schema 1's layout (content hash, then lastActivityAt).
func oldStateFile(t *testing.T, entries ...Entry) string {
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
		for i, e := range entries {
			v := append(e.Hash[:], e.LastActivityAt...)
			if err := tx.Bucket(bucketContacts).Put([]byte(strconv.Itoa(i+1)), v); err != nil {
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
		if v := tx.Bucket(bucketMeta).Get(keySchema); string(v) != strconv.Itoa(SchemaVersion) {
			t.Errorf("schema %q, want %d", v, SchemaVersion)
		}
		return nil
	})
}

func TestSchema1CheckpointIsMigrated(t *testing.T) {
	old := []Entry{
		{Hash: [16]byte{1, 2, 3}, LastActivityAt: "2024-05-01T10:00:00Z"},
		{Hash: [16]byte{4, 5, 6}},
	}
	want := map[string]Entry{"1": old[0], "2": old[1]}
	path := oldStateFile(t, old...)

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ro.Checkpoint()
	ro.Close()
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("read-only checkpoint of a schema 1 file: %v, %v; want %v", got, err, want)
	}

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.Checkpoint(); err != nil || !maps.Equal(got, want) {
		t.Fatalf("migrated checkpoint: %v, %v; want %v", got, err, want)
	}
	e := want["1"]
	e.Raw = [16]byte{9}
	if err := db.Touch([]Touch{{ID: "1", Entry: e}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Checkpoint(); got["1"] != e {
		t.Errorf("after Touch: %+v, want %+v", got["1"], e)
	}
}
