package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestFileModes: what connect-sync creates holds contact data or its
// state, so it is the owner's alone, whatever the umask: the state file,
// the CSV file and the import report 0600, the vCard folder 0700 and its
// cards 0600; a rewrite keeps them so, and a state file found 0644 is made
// 0600.
func TestFileModes(t *testing.T) {
	for _, umask := range []string{"000", "022"} {
		t.Run("umask "+umask, func(t *testing.T) {
			w := newWorkspace(t, 5)
			input := w.path("import.csv")
			if err := os.WriteFile(input, []byte("email,firstName\nnew@example.com,New\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			// The umask is set in a shell that then becomes connect-sync,
			// leaving the test process's own alone; the witness file shows
			// it took effect.
			run := func(args ...string) {
				t.Helper()
				script := `umask ` + umask + ` && : > "$WITNESS" && exec "$0" "$@"`
				cmd := exec.Command("/bin/sh", append([]string{"-c", script, binary}, args...)...)
				cmd.Env = append(os.Environ(), "TEST_API_KEY="+testKey, "WITNESS="+w.path("witness"))
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%v: %v\n%s", args, err, out)
				}
			}
			run("sync", "--config", w.config)
			// A state file restored by hand with a looser mode is made
			// the owner's alone again.
			if err := os.Chmod(w.path("state.db"), 0o644); err != nil {
				t.Fatal(err)
			}
			w.api.Edit(w.api.IDs()[0], func(c map[string]any) { c["note"] = "rewritten" })
			run("sync", "--config", w.config)
			run("import", "--config", w.config, "--dry-run", "--report", w.path("report.csv"), input)

			want := map[string]fs.FileMode{
				"witness":      0o666 &^ umaskBits(umask),
				"state.db":     0o600,
				"contacts.csv": 0o600,
				"report.csv":   0o600,
				"vcards":       fs.ModeDir | 0o700,
			}
			cards, _ := filepath.Glob(w.path("vcards/*"))
			if len(cards) != 5 {
				t.Fatalf("%d cards, want 5", len(cards))
			}
			for _, card := range cards {
				rel, _ := filepath.Rel(w.dir, card)
				want[rel] = 0o600
			}
			for name, mode := range want {
				fi, err := os.Stat(w.path(name))
				if err != nil {
					t.Error(err)
					continue
				}
				if got := fi.Mode() & (fs.ModeDir | fs.ModePerm); got != mode {
					t.Errorf("%s: mode %v, want %v", name, got, mode)
				}
			}
		})
	}
}

// umaskBits reads an octal umask.
func umaskBits(umask string) fs.FileMode {
	var bits fs.FileMode
	for _, c := range umask {
		bits = bits<<3 | fs.FileMode(c-'0')
	}
	return bits
}
