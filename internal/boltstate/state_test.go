package boltstate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/state"

	bolt "go.etcd.io/bbolt"

	"github.com/connect-sync/connect-sync/internal/contact"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func workspace(t *testing.T, db *DB, name string) *Workspace {
	t.Helper()
	w, err := db.Workspace(name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestFileMode(t *testing.T) {
	_, path := openTemp(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// An existing file that others may read (a copy restored under umask 022)
// is made 0600 when it is opened for writing; a read-only open, which
// changes nothing, leaves it to that.
func TestLooseModeTightened(t *testing.T) {
	db, path := openTemp(t)
	db.Close()
	for _, mode := range []os.FileMode{0o644, 0o666, 0o640, 0o604} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		ro, err := OpenReadOnly(path)
		if err != nil {
			t.Fatal(err)
		}
		ro.Close()
		if fi, _ := os.Stat(path); fi.Mode().Perm() != mode {
			t.Errorf("a read-only open changed mode %v to %v", mode, fi.Mode().Perm())
		}
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v became %v, want 0600", mode, fi.Mode().Perm())
		}
	}
}

func TestSecondOpenFailsAtOnce(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	_, err := Open(path)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want ErrLocked naming %s", err, path)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	db, path := openTemp(t)
	db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte("99")) })
	db.Close()
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), "schema version 99") {
		t.Fatalf("err = %v", err)
	}
}

func TestReadOnlyLeavesTheFileAlone(t *testing.T) {
	db, path := openTemp(t)
	workspace(t, db, state.DefaultWorkspace).RegisterSink(t.Context(), "s", state.SinkInfo{Type: "csv"})
	db.Close()
	before, _ := os.ReadFile(path)
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := workspace(t, ro, state.DefaultWorkspace).Status(t.Context()); err != nil {
		t.Fatal(err)
	}
	ro.Close()
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("a read-only open changed the file")
	}
	if _, err := OpenReadOnly(filepath.Join(t.TempDir(), "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func change(id string, kind contact.Kind) state.Detected {
	c, err := contact.Parse([]byte(`{"id":"` + id + `","email":"` + id + `@example.com"}`))
	if err != nil {
		panic(err)
	}
	d := state.Detected{Change: contact.Change{ID: "msg_" + id, Kind: kind, Contact: c}}
	if kind != contact.Deleted {
		d.Entry = &state.Entry{LastActivityAt: "2024-01-01T00:00:00Z"}
	}
	return d
}
