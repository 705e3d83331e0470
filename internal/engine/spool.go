package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// spool keeps the contacts a fetch found new or changed, as the API sent
// them, in a temporary file until the run commits them: nothing may be
// committed before the whole list has arrived, and holding a first sync's
// 100,000 contacts in memory would take hundreds of megabytes. The file is
// unlinked as soon as it is created, so a crash leaves nothing behind, but
// in that instant: newSpool removes such a leftover from a folder the
// process owns (dir not empty), never from the shared temporary folder,
// where it could be another process's file in that same instant.
type spool struct {
	f    *os.File
	w    *bufio.Writer
	size int64
}

const spoolPattern = ".connect-sync-spool-*"

func newSpool(dir string) (*spool, error) {
	if dir != "" {
		leftovers, _ := filepath.Glob(filepath.Join(dir, spoolPattern))
		for _, name := range leftovers {
			os.Remove(name)
		}
	}
	f, err := os.CreateTemp(dir, spoolPattern)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	// Another run's sweep in this folder (a second workspace's) may have
	// removed it already, which is as good.
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// add appends raw and returns where it starts.
func (s *spool) add(raw []byte) (int64, error) {
	at := s.size
	n, err := s.w.Write(raw)
	s.size += int64(n)
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	return at, nil
}

// read returns the bytes from at to end, which add wrote earlier.
func (s *spool) read(at, end int64) ([]byte, error) {
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	b := make([]byte, end-at)
	if _, err := s.f.ReadAt(b, at); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return b, nil
}

func (s *spool) close() error {
	if s == nil {
		return nil
	}
	return s.f.Close()
}
