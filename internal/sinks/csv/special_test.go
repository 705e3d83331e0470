package csv_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/sinks/csv"
)

// What whoever else can write to the folder may put at the file's name is
// refused at once, by Deliver and Check alike, with an error that names
// the file and says what to do: never followed (a link to /dev/zero would
// be read until memory ran out), never waited on (a FIFO would block until
// a writer came), never read past the cap. It is left where it is.
func TestSpecialFileRefused(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, path string)
		want  []string
	}{
		{"link to /dev/zero", func(t *testing.T, path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}, []string{"is a symbolic link", "move it away"}},
		{"FIFO", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"is a named pipe (FIFO)", "move it away"}},
		{"folder", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, []string{"is a folder", "move it away"}},
		{"over 512 MiB", func(t *testing.T, path string) {
			writeFile(t, path, strings.Join(wantHeader, ",")+"\n")
			if err := os.Truncate(path, 512<<20+1); err != nil { // sparse: no disk
				t.Fatal(err)
			}
		}, []string{"is larger than 512 MiB", "connect-sync reset --sink sheet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "contacts.csv")
			tt.plant(t, path)
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			s := openSink(t, path, true)
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, sinks.ErrUnavailable) {
					t.Fatalf("%s: %v, want ErrUnavailable", op, err)
				}
				for _, part := range append([]string{path + " "}, tt.want...) {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("%s: %q does not say %q", op, err, part)
					}
				}
			}
			check("Deliver", within(t, func() error {
				return s.Deliver(t.Context(), []contact.Change{change(contact.Created, contact.Contact{ID: "1"})})[0]
			}))
			if err := s.Commit(t.Context()); err != nil {
				t.Errorf("Commit after a refusal: %v", err)
			}
			check("Check", within(t, func() error { return s.Check(t.Context()) }))
			if after, err := os.Lstat(path); err != nil || !os.SameFile(before, after) || after.Mode() != before.Mode() {
				t.Errorf("what sat there was changed: %v", err)
			}
		})
	}
}

// A folder that is a link to one is a fine setup: the link is followed.
func TestLinkedFolder(t *testing.T) {
	target := t.TempDir()
	link := filepath.Join(t.TempDir(), "sheets")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	s := openSink(t, filepath.Join(link, "contacts.csv"), true)
	deliver(t, s, change(contact.Created, contact.Contact{ID: "1"}))
	deliver(t, s, change(contact.Created, contact.Contact{ID: "2"}))
	if rows := readGo(t, filepath.Join(target, "contacts.csv")); len(rows) != 3 {
		t.Errorf("%d rows, want the header and 2", len(rows))
	}
}

// A folder that every user may write to is worth a warning, once a run.
func TestExposedFolderWarned(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cfg := csv.DefaultConfig()
	cfg.Path = filepath.Join(dir, "contacts.csv")
	s, err := cfg.Open(sinks.Env{Name: "sheet", Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, s.(*csv.Sink), change(contact.Created, contact.Contact{ID: "1"}), change(contact.Created, contact.Contact{ID: "2"}))
	if n := strings.Count(log.String(), "level=WARN msg=\"every user may write to the sink's folder"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, log.String())
	}
}

// within runs fn, failing the test if it takes more than a few seconds.
func within(t *testing.T, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("did not return within 5 s")
		return nil
	}
}
