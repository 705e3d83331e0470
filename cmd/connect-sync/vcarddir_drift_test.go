package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVCardFolderConverges touches the vcard-dir sink's folder by hand in
// each way a user might: the next plain sync puts the source's cards back
// and removes connect-sync's own card of a contact the source no longer
// has, leaves what it did not write, exits 0, and status says what it
// found.
func TestVCardFolderConverges(t *testing.T) {
	foreign := map[string]string{
		"9999.vcf":  "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:another-program\r\nFN:Someone Else\r\nEND:VCARD\r\n",
		"notes.txt": "not a card",
	}
	tamper := []struct {
		name   string
		change func(t *testing.T, w *workspace, dir string)
		drift  bool // status reports drift
	}{
		{"a card deleted", func(t *testing.T, _ *workspace, dir string) {
			if err := os.Remove(filepath.Join(dir, "3.vcf")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a card edited", func(t *testing.T, _ *workspace, dir string) {
			path := filepath.Join(dir, "4.vcf")
			writeFile(t, path, strings.Replace(readFile(t, path), "EMAIL", "EMAIL;TYPE=HOME", 1))
		}, true},
		{"a card replaced by a link", func(t *testing.T, _ *workspace, dir string) {
			outside := filepath.Join(t.TempDir(), "outside.vcf")
			writeFile(t, outside, "keep")
			path := filepath.Join(dir, "5.vcf")
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, path); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a stale card restored", func(t *testing.T, w *workspace, dir string) {
			// The card of a contact deleted since, put back from a backup.
			path := filepath.Join(dir, "6.vcf")
			saved := readFile(t, path)
			if err := w.api.Delete("6"); err != nil {
				t.Fatal(err)
			}
			w.mustRun("sync")
			writeFile(t, path, saved)
		}, true},
		{"foreign files added", func(t *testing.T, _ *workspace, dir string) {
			for name, data := range foreign {
				writeFile(t, filepath.Join(dir, name), data)
			}
		}, false},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorkspace(t, 20)
			w.mustRun("sync")
			dir := w.path("vcards")
			tt.change(t, w, dir)
			r := w.run(nil, "sync")
			if r.code != 0 {
				t.Fatalf("sync after %s: exit %d:\n%s", tt.name, r.code, r.stderr)
			}
			// Foreign files aside, the folder is a clean sync's.
			got := readDir(t, dir)
			for name, data := range foreign {
				if got[name] != "" && got[name] != data {
					t.Errorf("%s was touched", name)
				}
				delete(got, name)
			}
			if tt.name == "foreign files added" && len(readDir(t, dir)) != len(got)+len(foreign) {
				t.Errorf("foreign files removed")
			}
			ref := w.sibling(vcardSink)
			ref.mustRun("sync")
			if want := readDir(t, ref.path("vcards")); !maps.Equal(got, want) {
				t.Errorf("the folder differs from a clean sync's: %d files, want %d", len(got), len(want))
			}
			if st := w.run(nil, "status"); strings.Contains(st.stdout, "drift") != tt.drift {
				t.Errorf("status says drift: %v, want %v:\n%s", !tt.drift, tt.drift, st.stdout)
			}
			if r := w.run(nil, "sync"); r.code != 0 || strings.Contains(r.stderr, "drifted") {
				t.Errorf("the sync after the repair: exit %d:\n%s", r.code, r.stderr)
			}
		})
	}
}

// TestVCardFolderWatchedUnderRun: under `connect-sync run` the folder's
// watch lasts from run to run, so a card edited between two runs is
// written again by the next one, although the sweep of that run looks at
// other cards (a hundred of 300, in the ids' order, "99" last).
func TestVCardFolderWatchedUnderRun(t *testing.T) {
	w := newWorkspace(t, 300)
	w.writeConfig(strings.Replace(readFile(t, w.config), "type: vcard-dir\n", "type: vcard-dir\n    audit_runs: 1000\n", 1))
	s := w.startService(w.serviceConfig("schedule: \"@every 1h\"\n"))
	finished := func(n int) func() bool {
		return func() bool { return strings.Count(s.logs.String(), `"sync finished"`) >= n }
	}
	eventually(t, "the first run", finished(1))
	path := filepath.Join(w.path("vcards"), "99.vcf")
	clean := readFile(t, path)
	writeFile(t, path, strings.Replace(clean, "EMAIL", "EMAIL;TYPE=HOME", 1))
	// A moment for the watch to see it: a scheduled run comes minutes later.
	time.Sleep(200 * time.Millisecond)
	s.post("/sync")
	eventually(t, "the second run", finished(2))
	if got := readFile(t, path); got != clean {
		t.Errorf("the card edited between two runs is still edited after the second")
	}
}
