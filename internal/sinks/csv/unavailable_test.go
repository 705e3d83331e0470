package csv_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// A file whose header is not ours may be someone else's: it is refused, and
// left as it was, by Deliver and by Check alike.
func TestUnexpectedHeaderRefused(t *testing.T) {
	ours := strings.Join(wantHeader, ",")
	for name, content := range map[string]string{
		"another program's": "name,phone\nJohn,555\n",
		"older version":     "id,email,firstName\n1,a@example.com,A\n",
		"columns reordered": strings.Replace(ours, "id,email", "email,id", 1) + "\n",
		"empty":             "",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "contacts.csv")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			s := openSink(t, path, true)
			err := s.Deliver(t.Context(), []contact.Change{change(contact.Created, contact.Contact{ID: "1"})})[0]
			wantRefusal(t, "Deliver", err)
			if err := s.Commit(t.Context()); err != nil {
				t.Errorf("Commit after a refusal: %v", err)
			}
			wantRefusal(t, "Check", s.Check(t.Context()))
			if got, _ := os.ReadFile(path); string(got) != content {
				t.Errorf("file changed: %q", got)
			}
		})
	}
}

func wantRefusal(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, sinks.ErrUnavailable) {
		t.Fatalf("%s: %v, want ErrUnavailable", op, err)
	}
	for _, part := range []string{"not written by this version", "move it away", "connect-sync reset --sink sheet"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("%s: %q does not say %q", op, err, part)
		}
	}
}

// Anything that keeps the sink from reading its file stops the run for it.
func TestUnreadableFileUnavailable(t *testing.T) {
	ours := strings.Join(wantHeader, ",") + "\n"
	for name, setup := range map[string]func(dir string) string{
		"missing folder": func(dir string) string { return filepath.Join(dir, "missing", "contacts.csv") },
		"folder is a file": func(dir string) string {
			writeFile(t, filepath.Join(dir, "file"), "")
			return filepath.Join(dir, "file", "contacts.csv")
		},
		"path is a folder": func(dir string) string { return dir },
		"too few cells": func(dir string) string {
			return writeFile(t, filepath.Join(dir, "contacts.csv"), ours+"1,a@example.com\n")
		},
		"broken quotes": func(dir string) string {
			return writeFile(t, filepath.Join(dir, "contacts.csv"), ours+`1,"a"b`+strings.Repeat(",", 17)+"\n")
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := openSink(t, setup(t.TempDir()), true)
			err := s.Deliver(t.Context(), []contact.Change{change(contact.Created, contact.Contact{ID: "1"})})[0]
			if !errors.Is(err, sinks.ErrUnavailable) {
				t.Errorf("Deliver: %v, want ErrUnavailable", err)
			}
			if err := s.Check(t.Context()); !errors.Is(err, sinks.ErrUnavailable) {
				t.Errorf("Check: %v, want ErrUnavailable", err)
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "contacts.csv")
	if err := openSink(t, missing, true).Check(t.Context()); err != nil {
		t.Errorf("no file yet: %v", err)
	}
	if err := openSink(t, writeFixture(t), true).Check(t.Context()); err != nil {
		t.Errorf("file of ours: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Check left %d files behind", len(entries))
	}
	// A name so long that no temporary file can be made beside it.
	long := filepath.Join(dir, strings.Repeat("c", 240)+".csv")
	if err := openSink(t, long, true).Check(t.Context()); !errors.Is(err, sinks.ErrUnavailable) {
		t.Errorf("unwritable folder: %v, want ErrUnavailable", err)
	}
}
