// Package atomicfile writes files so that readers and crashes see either the
// old content or the new, never a mix: a temporary file in the same folder,
// fsync, rename over the target, fsync of the folder. It also reads back
// the files it replaces, refusing whatever is not a regular file there.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/connect-sync/connect-sync/internal/crashpoint"
)

// TempPrefix starts the name of every temporary file this package creates.
// The leading dot hides it from vdir tools and spreadsheets alike.
const TempPrefix = ".connect-sync-tmp-"

// Write replaces path with what write produces, atomically and durably, with
// the given permissions. If write or any step before the rename fails, path
// is untouched and the temporary file is removed; if the folder's fsync
// after it fails, path is new but may not survive a power cut.
func Write(path string, perm os.FileMode, write func(io.Writer) error) error {
	if err := Replace(path, perm, write); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// Replace is Write without the folder's fsync: the new content is complete
// on disk before it takes the old one's place, but the rename itself is
// durable only after SyncDir. Callers that replace many files in a folder
// sync it once, before they rely on any of them.
func Replace(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, TempPrefix+base+"-*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := write(f); err != nil {
		return fmt.Errorf("atomicfile: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("atomicfile: close %s: %w", path, err)
	}
	crashpoint.Hit("before-rename") // the temporary file is complete and synced, the target still old
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	return nil
}

// SyncDir makes renames and removals in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("atomicfile: sync %s: %w", dir, err)
	}
	return nil
}

// RemoveStale deletes temporary files that a crash left in dir.
func RemoveStale(dir string) error {
	return removeTemps(dir, func(string) bool { return true })
}

// RemoveStaleOf deletes the temporary files that a crash left while
// replacing path, and no other: in a shared folder, another file's may be
// being written.
func RemoveStaleOf(path string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	return removeTemps(dir, func(rest string) bool {
		random, ok := strings.CutPrefix(rest, base+"-")
		return ok && random != "" && strings.Trim(random, "0123456789") == "" // os.CreateTemp's "*"
	})
}

// removeTemps deletes the temporary files in dir whose name after
// TempPrefix matches.
func removeTemps(dir string, match func(rest string) bool) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	// Names only, unsorted: a folder of 100,000 cards is listed every run.
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	for _, name := range names {
		if rest, ok := strings.CutPrefix(name, TempPrefix); ok && match(rest) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("atomicfile: %w", err)
			}
		}
	}
	return nil
}
