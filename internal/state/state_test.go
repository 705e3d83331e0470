package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// openWorkspace returns the default workspace of a new state file.
func openWorkspace(t *testing.T) *Workspace {
	t.Helper()
	db, _ := openTemp(t)
	return workspace(t, db, DefaultWorkspace)
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
	workspace(t, db, DefaultWorkspace).RegisterSink("s", SinkInfo{Type: "csv"})
	db.Close()
	before, _ := os.ReadFile(path)
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := workspace(t, ro, DefaultWorkspace).Status(); err != nil {
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

func change(id string, kind contact.Kind) Detected {
	c, err := contact.Parse([]byte(`{"id":"` + id + `","email":"` + id + `@example.com"}`))
	if err != nil {
		panic(err)
	}
	d := Detected{Change: contact.Change{ID: "msg_" + id, Kind: kind, Contact: c}}
	if kind != contact.Deleted {
		d.Entry = &Entry{LastActivityAt: "2024-01-01T00:00:00Z"}
	}
	return d
}

func TestOutbox(t *testing.T) {
	w := openWorkspace(t)
	w.RegisterSink("a", SinkInfo{Type: "csv"})
	w.RegisterSink("b", SinkInfo{Type: "csv"})
	if err := w.Commit([]Detected{change("1", contact.Created), change("2", contact.Created)}); err != nil {
		t.Fatal(err)
	}
	cp, _ := w.Checkpoint()
	if len(cp) != 2 || cp["1"].LastActivityAt != "2024-01-01T00:00:00Z" {
		t.Fatalf("checkpoint %v", cp)
	}
	q, err := w.Queue("a", 0, 10)
	if err != nil || len(q) != 2 || q[0].Change.ID != "msg_1" || q[1].Change.Contact.Email != "2@example.com" {
		t.Fatalf("queue %+v, %v", q, err)
	}
	if rest, _ := w.Queue("a", q[0].Seq, 10); len(rest) != 1 {
		t.Fatalf("queue after %d: %d entries", q[0].Seq, len(rest))
	}
	w.Ack("a", []uint64{q[0].Seq, q[1].Seq})
	if n, _ := w.Pending("a"); n != 0 {
		t.Errorf("a pending %d", n)
	}
	if n, _ := w.Pending("b"); n != 2 {
		t.Errorf("b pending %d: acknowledging for a touched b", n)
	}
	w.Ack("b", []uint64{q[0].Seq})
	w.DropSink("b")
	if n := countChanges(t, w); n != 0 {
		t.Errorf("%d change records left with no queue referencing them", n)
	}
	w.Commit([]Detected{change("1", contact.Deleted)})
	if cp, _ := w.Checkpoint(); len(cp) != 1 {
		t.Errorf("checkpoint after delete %v", cp)
	}
	if snaps, _ := w.Snapshots([]string{"1", "2"}); len(snaps) != 1 || snaps["2"] == nil {
		t.Errorf("snapshots %v", snaps)
	}
	st, _ := w.Status()
	if st.Contacts != 1 || len(st.Sinks) != 1 || st.Sinks[0].Delivered != 2 || st.Sinks[0].Pending != 1 {
		t.Errorf("status %+v", st)
	}
}

func TestBackfillCoversEverySnapshotInBoundedTransactions(t *testing.T) {
	w := openWorkspace(t)
	var batch []Detected
	for i := range 2500 {
		batch = append(batch, change(strings.Repeat("x", i%3)+string(rune('a'+i%26))+time.Duration(i).String(), contact.Created))
	}
	w.Commit(batch)
	w.RegisterSink("new", SinkInfo{Type: "csv"})
	n, err := w.Backfill("new", time.Now(), func() string { return "id" })
	if err != nil || n != 2500 {
		t.Fatalf("backfilled %d, %v", n, err)
	}
	if p, _ := w.Pending("new"); p != 2500 {
		t.Errorf("pending %d", p)
	}
}

func countChanges(t *testing.T, w *Workspace) int {
	t.Helper()
	n := 0
	err := w.view(func(ws space) error {
		n = ws.Bucket(bucketChanges).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLastSuccessOutlivesAFailedRun(t *testing.T) {
	w := openWorkspace(t)
	ok := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	runs := []Run{
		{StartedAt: ok.Add(-time.Second), FinishedAt: ok, Result: "success"},
		{StartedAt: ok.Add(time.Minute), FinishedAt: ok.Add(2 * time.Minute), Result: "failure", Error: "source: contacts: 503"},
	}
	for _, r := range runs {
		if err := w.RecordRun(r); err != nil {
			t.Fatal(err)
		}
	}
	st, err := w.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.LastRun == nil || st.LastRun.Result != "failure" || st.LastSuccessAt == nil || !st.LastSuccessAt.Equal(ok) {
		t.Errorf("last run %+v, last success %v; want the failure and %v", st.LastRun, st.LastSuccessAt, ok)
	}
}
