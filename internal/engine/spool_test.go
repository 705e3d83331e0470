package engine

import (
	"os"
	"path/filepath"
	"sync"
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

// TestSpoolsInOneFolder: runs of several workspaces spool beside one state
// file at once, each sweeping the folder as it starts.
func TestSpoolsInOneFolder(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				s, err := newSpool(dir)
				if err != nil {
					errs <- err
					return
				}
				s.close()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
