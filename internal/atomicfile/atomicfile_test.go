package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	os.WriteFile(path, []byte("old"), 0o644)
	if err := Write(path, 0o600, func(w io.Writer) error {
		_, err := io.WriteString(w, "new")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("content %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	assertOnly(t, dir, "out.csv")
}

func TestFailedWriteLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	os.WriteFile(path, []byte("old"), 0o600)
	boom := errors.New("boom")
	err := Write(path, 0o600, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("content %q", b)
	}
	assertOnly(t, dir, "out.csv")
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, TempPrefix+"1.vcf-123"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "1.vcf"), nil, 0o600)
	if err := RemoveStale(dir); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "1.vcf")
}

func TestRemoveStaleOf(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{TempPrefix + "a.csv-123", TempPrefix + "a.csv-x.csv-456", TempPrefix + "b.csv-789", "a.csv"} {
		os.WriteFile(filepath.Join(dir, name), nil, 0o600)
	}
	if err := RemoveStaleOf(filepath.Join(dir, "a.csv")); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, TempPrefix+"a.csv-x.csv-456", TempPrefix+"b.csv-789", "a.csv")
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("folder holds %v, want %v", got, names)
	}
}
