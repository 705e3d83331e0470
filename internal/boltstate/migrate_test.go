package boltstate

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/state"

	bolt "go.etcd.io/bbolt"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// legacyStateFile writes a state file as connect-sync wrote it before
// workspaces: schema 1 or 2, one workspace's buckets at the root. A schema
// 1 file has no imports bucket, as before imports existed. fill adds data.
func legacyStateFile(t *testing.T, schema int, fill func(tx *bolt.Tx) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Update(func(tx *bolt.Tx) error {
		names := [][]byte{bucketMeta, bucketContacts, bucketSnapshots, bucketChanges, bucketSinks}
		if schema > 1 {
			names = append(names, bucketImports)
		}
		for _, name := range names {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(schema))); err != nil {
			return err
		}
		return fill(tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// legacyEntry is a checkpoint entry in the layout of schema 1 (no raw
// hash) or 2.
func legacyEntry(e state.Entry, schema int) []byte {
	if schema == 1 {
		return append(e.Hash[:], e.LastActivityAt...)
	}
	return e.Encode()
}

// oldStateFile writes a schema 1 file with the given checkpoint entries,
// under the ids "1", "2"…
func oldStateFile(t *testing.T, entries ...state.Entry) string {
	return legacyStateFile(t, 1, func(tx *bolt.Tx) error {
		for i, e := range entries {
			if err := tx.Bucket(bucketContacts).Put([]byte(strconv.Itoa(i+1)), legacyEntry(e, 1)); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestSchema1CheckpointIsMigrated(t *testing.T) {
	old := []state.Entry{
		{Hash: [16]byte{1, 2, 3}, LastActivityAt: "2024-05-01T10:00:00Z"},
		{Hash: [16]byte{4, 5, 6}},
	}
	want := map[string]state.Entry{"1": old[0], "2": old[1]}
	path := oldStateFile(t, old...)

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := workspace(t, ro, state.DefaultWorkspace).Checkpoint(t.Context())
	ro.Close()
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("read-only checkpoint of a schema 1 file: %v, %v; want %v", got, err, want)
	}

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := workspace(t, db, state.DefaultWorkspace)
	if got, err := w.Checkpoint(t.Context()); err != nil || !maps.Equal(got, want) {
		t.Fatalf("migrated checkpoint: %v, %v; want %v", got, err, want)
	}
	e := want["1"]
	e.Raw = [16]byte{9}
	if err := w.Touch(t.Context(), []state.Touch{{ID: "1", Entry: e}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.Checkpoint(t.Context()); got["1"] != e {
		t.Errorf("after Touch: %+v, want %+v", got["1"], e)
	}
}

// The workspace the migration tests keep in an old file: three contacts,
// each created by a change to the sink "hook", which acknowledged none,
// buried the first and remembers something of contact 1.
var (
	oldRun     = state.Run{StartedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), FinishedAt: time.Date(2026, 3, 1, 9, 1, 0, 0, time.UTC), Result: state.RunFailed, Error: "source: contacts: 503"}
	oldSuccess = time.Date(2026, 2, 28, 9, 1, 0, 0, time.UTC)
	oldBurial  = letter{Error: "422", At: time.Date(2026, 2, 28, 9, 0, 30, 0, time.UTC)}
	oldSink    = state.SinkInfo{Type: "webhook", Target: "https://hook.example/", Delivered: 5}
)

func oldEntry(id string, schema int) state.Entry {
	e := state.Entry{Hash: [16]byte{id[0]}, LastActivityAt: "2024-05-0" + id + "T10:00:00Z"}
	if schema > 1 {
		e.Raw = [16]byte{id[0], 1}
	}
	return e
}

func fillOldWorkspace(schema int) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		changes := tx.Bucket(bucketChanges)
		sink, err := tx.Bucket(bucketSinks).CreateBucket([]byte("hook"))
		if err != nil {
			return err
		}
		queue, err := sink.CreateBucket(keyQueue)
		if err != nil {
			return err
		}
		dead, err := sink.CreateBucket(keyDead)
		if err != nil {
			return err
		}
		memo, err := sink.CreateBucket(keyMemo)
		if err != nil {
			return err
		}
		for _, id := range []string{"1", "2", "3"} {
			d := change(id, contact.Created)
			seq, err := changes.NextSequence()
			if err != nil {
				return err
			}
			key := seqKey(seq)
			var ref error
			if id == "1" {
				ref = putJSON(dead, key, oldBurial)
			} else {
				ref = queue.Put(key, queued)
			}
			err = errors.Join(ref,
				tx.Bucket(bucketContacts).Put([]byte(id), legacyEntry(oldEntry(id, schema), schema)),
				tx.Bucket(bucketSnapshots).Put([]byte(id), d.Change.Contact.Raw),
				putJSON(changes, key, state.NewRecord(d.Change)))
			if err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		err = errors.Join(
			putJSON(sink, keyInfo, oldSink),
			memo.Put([]byte("1"), []byte("m")),
			putJSON(meta, keyLastRun, oldRun),
			putJSON(meta, keyLastSuccess, oldSuccess))
		if schema > 1 {
			err = errors.Join(err, putJSON(tx.Bucket(bucketImports), []byte("fp"), state.Import{ContactID: "1"}))
		}
		return err
	}
}

// checkOldWorkspace checks that w holds what fillOldWorkspace wrote.
func checkOldWorkspace(t *testing.T, w *Workspace, schema int) {
	t.Helper()
	cp, err := w.Checkpoint(t.Context())
	want := map[string]state.Entry{"1": oldEntry("1", schema), "2": oldEntry("2", schema), "3": oldEntry("3", schema)}
	if err != nil || !maps.Equal(cp, want) {
		t.Errorf("checkpoint %v, %v; want %v", cp, err, want)
	}
	if snaps, err := w.Snapshots(t.Context(), []string{"1", "2", "3"}); err != nil || len(snaps) != 3 {
		t.Errorf("snapshots %v, %v", snaps, err)
	}

	st, err := w.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Workspace != state.DefaultWorkspace || st.Contacts != 3 || st.LastRun == nil || *st.LastRun != oldRun || st.LastSuccessAt == nil || !st.LastSuccessAt.Equal(oldSuccess) {
		t.Errorf("status %+v", st)
	}
	if len(st.Sinks) != 1 {
		t.Fatalf("sinks %+v", st.Sinks)
	}
	s := st.Sinks[0]
	if s.Name != "hook" || s.Type != "webhook" || s.Delivered != 5 || s.Pending != 2 || s.DeadLetters != 1 ||
		s.DeadLetterList[0].Event != "msg_1" || s.DeadLetterList[0].Error != oldBurial.Error {
		t.Errorf("sink status %+v", s)
	}
	if sinks, err := w.Sinks(t.Context()); err != nil || !reflect.DeepEqual(sinks["hook"], oldSink) {
		t.Errorf("sinks %+v, %v", sinks, err)
	}

	q, err := w.Queue(t.Context(), "hook", 0, 10)
	var got []string
	for _, c := range q {
		got = append(got, strconv.FormatUint(c.Seq, 10)+" "+c.Change.ID)
	}
	if want := []string{"2 msg_2", "3 msg_3"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("queue %q, %v; want %q", got, err, want)
	}
	if v, err := w.Memo("hook").Get(t.Context(), "1"); err != nil || string(v) != "m" {
		t.Errorf("memo %q, %v", v, err)
	}
	imp, found, err := w.ImportedContact(t.Context(), "fp")
	if err != nil || found != (schema > 1) || (found && imp.ContactID != "1") {
		t.Errorf("import %+v, found %v, %v", imp, found, err)
	}
}

func TestMigrationToWorkspaces(t *testing.T) {
	tests := []struct {
		name   string
		schema int
	}{
		{"schema 1", 1},
		{"schema 2", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := legacyStateFile(t, tt.schema, fillOldWorkspace(tt.schema))

			// Read-only, the old layout is read where it is.
			before, _ := os.ReadFile(path)
			ro, err := OpenReadOnly(path)
			if err != nil {
				t.Fatal(err)
			}
			if names, err := ro.Workspaces(); err != nil || !slices.Equal(names, []string{state.DefaultWorkspace}) {
				t.Errorf("read-only workspaces %v, %v", names, err)
			}
			checkOldWorkspace(t, workspace(t, ro, state.DefaultWorkspace), tt.schema)
			if _, err := ro.Workspace("other"); !errors.Is(err, state.ErrNotFound) {
				t.Errorf("read-only workspace other: %v, want ErrNotFound", err)
			}
			ro.Close()
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatal("a read-only open changed the old file")
			}

			db, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			checkMigratedLayout(t, db)
			checkOldWorkspace(t, workspace(t, db, state.DefaultWorkspace), tt.schema)
			// Opening it again finds nothing more to migrate.
			db.Close()
			if db, err = Open(path); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			checkMigratedLayout(t, db)
			w := workspace(t, db, state.DefaultWorkspace)
			checkOldWorkspace(t, w, tt.schema)

			if err := w.Commit(t.Context(), []state.Detected{change("4", contact.Created)}); err != nil {
				t.Fatal(err)
			}
			q, err := w.Queue(t.Context(), "hook", 0, 10)
			if err != nil || len(q) != 3 || q[2].Change.ID != "msg_4" || q[2].Seq <= 3 {
				t.Errorf("queue after a new change: %+v, %v; want msg_4 after sequence 3", q, err)
			}
		})
	}
}

// checkMigratedLayout checks that a migrated file is sound, of the current
// schema, and has nothing left of the old layout at its root.
func checkMigratedLayout(t *testing.T, db *DB) {
	t.Helper()
	if names, err := db.Workspaces(); err != nil || !slices.Equal(names, []string{state.DefaultWorkspace}) {
		t.Errorf("workspaces %v, %v", names, err)
	}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("check: %v", err)
		}
		var root []string
		tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			root = append(root, string(name))
			return nil
		})
		if want := []string{"meta", "workspaces"}; !slices.Equal(root, want) {
			t.Errorf("root buckets %q, want %q", root, want)
		}
		var meta []string
		tx.Bucket(bucketMeta).ForEach(func(k, v []byte) error {
			meta = append(meta, string(k)+"="+string(v))
			return nil
		})
		if want := []string{"schema=" + strconv.Itoa(SchemaVersion)}; !slices.Equal(meta, want) {
			t.Errorf("root meta %q, want %q", meta, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
