package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestContactTooLargeIsSkipped: the API sends a tracked contact grown past
// the 4 MiB a contact may have, and a new one as large. The other
// contacts' changes reach the sinks; the large ones are named, the tracked
// one stays in the sinks as it was, and sync exits 1. Neither reaches the
// state file. Once they shrink, the next run takes them.
func TestContactTooLargeIsSkipped(t *testing.T) {
	w := newWorkspace(t, 10)
	w.mustRun("sync")
	ids := w.api.IDs()
	huge := strings.Repeat("x", 5<<20)
	w.api.Edit(ids[0], func(c map[string]any) { c["note"] = huge })
	w.api.Edit(ids[1], func(c map[string]any) { c["email"] = "edited@example.com" })
	added := w.api.Add(map[string]any{"firstName": "Huge", "note": huge})

	r := w.run(nil, "sync", "--dry-run")
	if !strings.Contains(r.stdout, "0 to create, 1 to update, 0 to delete") || !strings.Contains(r.stdout, "a real run would fail: skipped 2 contacts") {
		t.Errorf("dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = w.run(nil, "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "created=0 updated=1 deleted=0 skipped=2") {
		t.Fatalf("exit %d, want 1 with one update and two skipped:\n%s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, `level=WARN msg="skipping a contact the API sent that connect-sync does not take`); n != 2 {
		t.Errorf("%d warnings, want one per contact:\n%s", n, r.stderr)
	}
	_, errLine, _ := strings.Cut(r.stderr, "connect-sync: skipped 2 contacts: ")
	for _, id := range []string{ids[0], added} {
		if !strings.Contains(r.stderr, "contact="+id+" ") || !strings.Contains(errLine, `contact "`+id+`"`) {
			t.Errorf("contact %s is not named in a warning and in the error:\n%s", id, r.stderr)
		}
	}
	rows := readCSV(t, w.path("contacts.csv"))
	var csvIDs []string
	for _, row := range rows[1:] {
		csvIDs = append(csvIDs, row[0])
		if row[0] == ids[1] && row[1] != "edited@example.com" {
			t.Errorf("contact %s's row %q lacks the edit", ids[1], row)
		}
		if strings.Contains(strings.Join(row, ","), "xxxxxxxx") {
			t.Errorf("contact %s's row holds the huge note", row[0])
		}
	}
	slices.SortFunc(csvIDs, byNumber)
	slices.SortFunc(ids, byNumber)
	if !slices.Equal(csvIDs, ids) {
		t.Errorf("csv ids %v, want the ones tracked before, %v", csvIDs, ids)
	}
	if fi, err := os.Stat(w.path("state.db")); err != nil || fi.Size() > 1<<20 {
		t.Errorf("state file: %v, %d bytes: the huge contacts reached it", err, fi.Size())
	}

	w.api.Edit(ids[0], func(c map[string]any) { c["note"] = "small again" })
	w.api.Edit(added, func(c map[string]any) { c["note"] = "small" })
	r = w.mustRun("sync")
	if !strings.Contains(r.stderr, "created=1 updated=1 deleted=0") {
		t.Errorf("once small, the contacts were not taken:\n%s", r.stderr)
	}
	w.assertMirrors()
}
