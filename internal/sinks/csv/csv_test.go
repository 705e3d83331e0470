package csv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	stdcsv "encoding/csv"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/sinks/csv"
)

var update = flag.Bool("update", false, "rewrite testdata/contacts.csv")

const golden = "testdata/contacts.csv"

func openSink(t *testing.T, path string, guard bool) *csv.Sink {
	t.Helper()
	cfg := csv.DefaultConfig()
	cfg.Path, cfg.FormulaGuard = path, guard
	s, err := cfg.Open(sinks.Env{Name: "sheet"})
	if err != nil {
		t.Fatal(err)
	}
	return s.(*csv.Sink)
}

// deliver runs one run: the batch, then Commit.
func deliver(t *testing.T, s *csv.Sink, batch ...contact.Change) {
	t.Helper()
	for i, err := range s.Deliver(t.Context(), batch) {
		if err != nil {
			t.Fatalf("Deliver %s: %v", batch[i].ID, err)
		}
	}
	if err := s.Commit(t.Context()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// writeFixture writes the fixture to a new file and returns its path.
func writeFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "contacts.csv")
	deliver(t, openSink(t, path, true), fixtureChanges()...)
	return path
}

func TestGolden(t *testing.T) {
	got, err := os.ReadFile(writeFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("file differs from %s (run with -update to accept):\n%s", golden, got)
	}
}

func TestReadBackGo(t *testing.T) {
	compareRecords(t, readGo(t, writeFixture(t)), fixtureRecords())
}

func TestReadBackPython(t *testing.T) {
	compareRecords(t, readPython(t, writeFixture(t)), fixtureRecords())
}

func readGo(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := stdcsv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return records
}

const pythonReader = `
import csv, json, sys
print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))
`

// readPython reads the file the way a Python script would, a second reader
// written independently of encoding/csv.
func readPython(t *testing.T, path string) [][]string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	out, err := exec.Command("python3", "-c", pythonReader, path).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var records [][]string
	if err := json.Unmarshal(out, &records); err != nil {
		t.Fatal(err)
	}
	return records
}

func compareRecords(t *testing.T, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d:\n%q", len(got), len(want), got)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("record %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

func TestUpdateAndDelete(t *testing.T) {
	path := writeFixture(t)
	john := fixture[0].c
	john.Email = "john.doe@example.com"
	s := openSink(t, path, true)
	// Two batches in one run, committed together.
	for _, batch := range [][]contact.Change{
		{change(contact.Updated, john), change(contact.Deleted, fixture[2].c)},
		{change(contact.Deleted, fixture[6].c), change(contact.Deleted, contact.Contact{ID: "404"})},
	} {
		for _, err := range s.Deliver(t.Context(), batch) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}

	want := fixtureRecords()
	want[1] = slices.Clone(want[1])
	want[1][1] = "john.doe@example.com"
	want = slices.Delete(want, 7, 8) // Zed
	want = slices.Delete(want, 3, 4) // 3
	compareRecords(t, readGo(t, path), want)
	compareRecords(t, readPython(t, path), want)
}

// A run whose changes leave every row as it was must not touch the file:
// the rows the file held are compared with the rows re-encoded from the
// contacts, across a restart (a new Sink).
func TestRewrittenOnlyWhenSomethingChanged(t *testing.T) {
	path := writeFixture(t)
	before := stat(t, path)

	john := fixture[0].c
	john.Phones = []contact.Phone{{Number: "+1 555 0100", Type: "home"}, {Number: "+44 20 7946 0958"}}
	john.LeadStatus = &contact.LeadStatus{ID: "2", Label: "Qualified Lead", Type: "qualified", Color: "#000000"}
	john.Raw = []byte(`{"id":1,"unshown":"changed"}`)
	batch := append(fixtureChanges(), change(contact.Updated, john), change(contact.Deleted, contact.Contact{ID: "404"}))
	deliver(t, openSink(t, path, true), batch...)

	after := stat(t, path)
	if !os.SameFile(before, after) || !before.ModTime().Equal(after.ModTime()) {
		t.Fatal("file rewritten although no row changed")
	}

	// A contact created and deleted again within one run leaves no trace.
	s := openSink(t, path, true)
	for _, kind := range []contact.Kind{contact.Created, contact.Deleted} {
		for _, err := range s.Deliver(t.Context(), []contact.Change{change(kind, contact.Contact{ID: "9999"})}) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(after, stat(t, path)) {
		t.Fatal("file rewritten for a contact created and deleted in one run")
	}

	john.JobTitle = "Lead Developer"
	deliver(t, openSink(t, path, true), change(contact.Updated, john))
	if os.SameFile(after, stat(t, path)) {
		t.Fatal("file not rewritten although a row changed")
	}
}

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.csv")
	if err := os.WriteFile(path, []byte(strings.Join(wantHeader, ",")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deliver(t, openSink(t, path, true), change(contact.Created, contact.Contact{ID: "1"}))
	if mode := stat(t, path).Mode(); mode != 0o600 {
		t.Errorf("mode %v, want -rw-------", mode)
	}
}

// The first run with nothing to write still creates the file, header only,
// so that it holds the current contacts: none.
func TestEmptyRunCreatesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.csv")
	deliver(t, openSink(t, path, true), change(contact.Deleted, contact.Contact{ID: "1"}))
	compareRecords(t, readGo(t, path), [][]string{wantHeader})
}

// A CRLF inside a note reaches the file as the API sent it and survives the
// rewrites caused by other contacts, although encoding/csv would read it back
// as LF.
func TestCRLFInNoteSurvivesRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.csv")
	windows := contact.Contact{ID: "1", Note: "typed\r\nin a browser"}
	deliver(t, openSink(t, path, true), change(contact.Created, windows))
	deliver(t, openSink(t, path, true), change(contact.Created, contact.Contact{ID: "2"}))
	before := stat(t, path)
	deliver(t, openSink(t, path, true), change(contact.Updated, windows))
	if !os.SameFile(before, stat(t, path)) {
		t.Error("file rewritten although no row changed")
	}
	compareRecords(t, readPython(t, path), [][]string{
		wantHeader, row(map[string]string{"id": "1", "note": "typed\r\nin a browser"}), row(map[string]string{"id": "2"}),
	})
}

// A file that another program saved with CRLF line ends, blank lines and no
// final newline is still ours: its rows are kept and written back with LF.
func TestForeignLineEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.csv")
	content := strings.Join(wantHeader, ",") + "\r\n\r\n2,b@example.com" + strings.Repeat(",", 17) + "\r\n\r\n1" + strings.Repeat(",", 18)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	deliver(t, openSink(t, path, true), change(contact.Created, contact.Contact{ID: "3"}))
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(wantHeader, ",") + "\n1" + strings.Repeat(",", 18) + "\n2,b@example.com" +
		strings.Repeat(",", 17) + "\n3" + strings.Repeat(",", 18) + "\n"
	if string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// A run writes only its changes: it slots new rows in among the file's
// rows in id order, replaces the changed ones and copies the others. A
// file someone edited out of order, or with a contact twice, comes out
// sorted, with the last of that contact's rows.
func TestChangesMergedIntoEditedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.csv")
	cells := func(id, email string) string { return id + "," + email + strings.Repeat(",", 17) + "\n" }
	content := strings.Join(wantHeader, ",") + "\n" +
		cells("10", "ten@example.com") + cells("2", "old@example.com") + cells("30", "") + cells("2", "two@example.com")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	deliver(t, openSink(t, path, true),
		change(contact.Created, contact.Contact{ID: "40", Email: "forty@example.com"}),
		change(contact.Updated, contact.Contact{ID: "30", Email: "thirty@example.com"}),
		change(contact.Created, contact.Contact{ID: "5", Email: "five@example.com"}),
		change(contact.Created, contact.Contact{ID: "1"}),
		change(contact.Deleted, contact.Contact{ID: "10"}),
	)
	compareRecords(t, readGo(t, path), [][]string{
		wantHeader,
		row(map[string]string{"id": "1"}),
		row(map[string]string{"id": "2", "email": "two@example.com"}),
		row(map[string]string{"id": "5", "email": "five@example.com"}),
		row(map[string]string{"id": "30", "email": "thirty@example.com"}),
		row(map[string]string{"id": "40", "email": "forty@example.com"}),
	})
}

// A Commit that fails leaves the old file as it was, reports the sink
// unavailable, and ends the run: the next Deliver reads the file again.
func TestCommitFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	// The name is valid, but the temporary name derived from it is longer
	// than a file name may be, so the write fails even for root.
	path := filepath.Join(dir, strings.Repeat("c", 240)+".csv")
	old := []byte(strings.Join(wantHeader, ",") + "\n1" + strings.Repeat(",", 18) + "\n")
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openSink(t, path, true)
	for run := range 2 {
		for _, err := range s.Deliver(t.Context(), []contact.Change{change(contact.Created, contact.Contact{ID: "2"})}) {
			if err != nil {
				t.Fatalf("run %d: Deliver: %v", run, err)
			}
		}
		if err := s.Commit(t.Context()); !errors.Is(err, sinks.ErrUnavailable) {
			t.Fatalf("run %d: Commit: %v, want ErrUnavailable", run, err)
		}
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Errorf("old file changed: %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("folder holds %d files, want only the old one", len(entries))
	}
}

func TestCommitCanceled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.csv")
	s := openSink(t, path, true)
	s.Deliver(t.Context(), []contact.Change{change(contact.Created, contact.Contact{ID: "1"})})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Commit(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit: %v, want context.Canceled", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file written despite the canceled commit: %v", err)
	}
}

func TestUnknownKind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.csv")
	s := openSink(t, path, true)
	errs := s.Deliver(t.Context(), []contact.Change{
		change("merged", contact.Contact{ID: "1"}),
		change(contact.Created, contact.Contact{ID: "2"}),
	})
	if errs[0] == nil || errors.Is(errs[0], sinks.ErrUnavailable) {
		t.Errorf("unknown kind: %v, want an error about that change alone", errs[0])
	}
	if errs[1] != nil {
		t.Errorf("created: %v", errs[1])
	}
	if err := s.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	compareRecords(t, readGo(t, path), [][]string{wantHeader, row(map[string]string{"id": "2"})})
}
