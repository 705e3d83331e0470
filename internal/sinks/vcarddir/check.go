package vcarddir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/connect-sync/connect-sync/internal/atomicfile"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Check reports whether the folder exists, or could be created, and takes
// writes. It creates and removes a temporary file in the folder, or in its
// nearest existing parent when the folder is missing, and leaves nothing
// behind.
func (s *Sink) Check(context.Context) error {
	sinks.WarnExposedFolder(s.logger, s.dir)
	dir, err := nearestFolder(s.dir)
	if err != nil {
		return fmt.Errorf("vcarddir: %w", err)
	}
	f, err := os.CreateTemp(dir, atomicfile.TempPrefix+"check-*")
	if err != nil {
		return fmt.Errorf("vcarddir: %s is not writable: %w", dir, err)
	}
	closeErr := f.Close()
	if err := errors.Join(closeErr, os.Remove(f.Name())); err != nil {
		return fmt.Errorf("vcarddir: %s: %w", dir, err)
	}
	return nil
}

// nearestFolder returns dir if it exists, or else its nearest existing
// parent; either must be a folder.
func nearestFolder(dir string) (string, error) {
	for {
		info, err := os.Stat(dir)
		switch {
		case err == nil && info.IsDir():
			return dir, nil
		case err == nil:
			return "", fmt.Errorf("%s is not a folder", dir)
		case !errors.Is(err, fs.ErrNotExist):
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", err
		}
		dir = parent
	}
}
