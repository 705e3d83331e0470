package engine

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSpoolLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	leftover := filepath.Join(dir, ".connect-sync-spool-123") // a crash's, in the instant before its unlink
	if err := os.WriteFile(leftover, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := newSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the folder holds %v", entries)
	}
	first, _ := s.add([]byte(`{"id":1}`))
	second, _ := s.add([]byte(`{"id":22}`))
	got, err := s.read(first, second+9)
	if err != nil || string(got) != `{"id":1}{"id":22}` {
		t.Errorf("read back %q, %v", got, err)
	}
}
