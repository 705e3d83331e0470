package csv_test

import (
	"path/filepath"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// FuzzFile runs the sink through three runs, each with a new Sink so the
// file is read back between them: two contacts created, one updated and the
// other deleted, then the first deleted too. The file must read back with
// encoding/csv after each run and hold exactly the contacts it should: a
// row keyed one way when staged and another when read back would be left
// behind by the deletion, or doubled by the update.
func FuzzFile(f *testing.F) {
	f.Fuzz(func(t *testing.T, id1, id2, note string, guard bool) {
		path := filepath.Join(t.TempDir(), "contacts.csv")
		one := contact.Contact{ID: id1, Note: note}
		two := contact.Contact{ID: id2, Email: note}
		keys := map[string]bool{}
		for _, c := range []contact.Contact{one, two} {
			keys[cellAsRead(t, c, guard)] = true
		}
		deliver(t, openSink(t, path, guard), change(contact.Created, one), change(contact.Created, two))
		checkRows(t, path, len(keys))

		one.FirstName = "changed"
		deliver(t, openSink(t, path, guard), change(contact.Updated, one), change(contact.Deleted, two))
		want := 1
		if len(keys) == 1 {
			want = 0 // one row for both: the deletion of the second removed it
		}
		checkRows(t, path, want)

		deliver(t, openSink(t, path, guard), change(contact.Deleted, one))
		checkRows(t, path, 0)
	})
}

// cellAsRead is the id cell of c's row as encoding/csv reads it from a file
// holding that row alone.
func cellAsRead(t *testing.T, c contact.Contact, guard bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "one.csv")
	deliver(t, openSink(t, path, guard), change(contact.Created, c))
	return readGo(t, path)[1][0]
}

// checkRows checks that the file reads back as the header and n rows.
func checkRows(t *testing.T, path string, n int) {
	t.Helper()
	records := readGo(t, path)
	if len(records) != n+1 {
		t.Fatalf("file holds %d rows, want %d: %q", len(records)-1, n, records)
	}
	for i, r := range records {
		if len(r) != len(wantHeader) {
			t.Fatalf("record %d has %d cells: %q", i, len(r), r)
		}
	}
}
