package sinks

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWarnExposedFolder(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string
		want  string // "" for no warning
	}{
		{"own folder", func(t *testing.T, dir string) string { return dir }, ""},
		{"missing", func(t *testing.T, dir string) string { return filepath.Join(dir, "missing") }, ""},
		{"world-writable", func(t *testing.T, dir string) string { chmod(t, dir, 0o777); return dir }, "every user may write"},
		{"world-writable, sticky", func(t *testing.T, dir string) string { chmod(t, dir, 0o777|os.ModeSticky); return dir }, "every user may write"},
		{"link to a world-writable folder", func(t *testing.T, dir string) string {
			chmod(t, dir, 0o777)
			link := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(dir, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "every user may write"},
		{"group-writable", func(t *testing.T, dir string) string { chmod(t, dir, 0o770); return dir }, ""},
		{"another user's", func(t *testing.T, dir string) string {
			if os.Geteuid() != 0 {
				t.Skip("only root can give a folder away")
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "belongs to another user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			WarnExposedFolder(slog.New(slog.NewTextHandler(&log, nil)), tt.setup(t, t.TempDir()))
			switch got := log.String(); {
			case tt.want == "" && got != "":
				t.Errorf("warned: %s", got)
			case tt.want != "" && (!strings.Contains(got, tt.want) || !strings.Contains(got, "level=WARN")):
				t.Errorf("logged %q, want a warning saying %q", got, tt.want)
			}
		})
	}
	WarnExposedFolder(nil, t.TempDir()) // no logger: nothing to do
}

func chmod(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}
