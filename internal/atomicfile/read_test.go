package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{"zero": "/dev/zero", "to-file": file, "dangling": filepath.Join(dir, "missing")}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A folder that is a link is followed: only the last element is not.
	linked := filepath.Join(t.TempDir(), "linked")
	if err := os.Symlink(dir, linked); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  string
		limit int64
		data  string
		err   error
		says  string
	}{
		{file, 5, "12345", nil, ""},
		{filepath.Join(linked, "file"), 5, "12345", nil, ""},
		{file, 4, "", ErrTooLarge, file + " is larger than 4 bytes"},
		{filepath.Join(dir, "missing"), 5, "", fs.ErrNotExist, ""},
		{fifo, 5, "", ErrNotRegular, fifo + " is a named pipe (FIFO), not a regular file"},
		{dir, 5, "", ErrNotRegular, dir + " is a folder"},
		{"/dev/zero", 5, "", ErrNotRegular, "/dev/zero is a device"},
	}
	for name := range links {
		path := filepath.Join(dir, name)
		tests = append(tests, struct {
			path  string
			limit int64
			data  string
			err   error
			says  string
		}{path, 5, "", ErrNotRegular, path + " is a symbolic link, not a regular file"})
	}
	for _, tt := range tests {
		done := make(chan struct{})
		var data []byte
		var err error
		go func() {
			data, err = ReadFile(tt.path, tt.limit)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadFile(%s) did not return within 5 s", tt.path)
		}
		if string(data) != tt.data || !errors.Is(err, tt.err) || (err != nil) != (tt.err != nil) || !strings.Contains(errString(err), tt.says) {
			t.Errorf("ReadFile(%s, %d) = %q, %v; want %q, %v saying %q", tt.path, tt.limit, data, err, tt.data, tt.err, tt.says)
		}
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{4 << 30: "4 GiB", 8 << 20: "8 MiB", 3 << 10: "3 KiB", 1500: "1500 bytes", 0: "0 bytes"} {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q, want %q", n, got, want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
