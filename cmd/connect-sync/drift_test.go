package main

import (
	"encoding/csv"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestCSVFileConverges touches the csv sink's file by hand in each way a
// user might: the next plain sync puts it back as the source has it, and
// exits 0, and status says what it found.
func TestCSVFileConverges(t *testing.T) {
	tamper := map[string]func(t *testing.T, path string){
		"deleted": func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		},
		"rows deleted and edited": func(t *testing.T, path string) {
			rows := readCSV(t, path)
			rows[3][1] = "edited-" + rows[3][1] // a row edited
			rows = slices.Delete(rows, 2, 3)    // a row gone
			extra := append([]string{"999999", "left-over@example.com"}, make([]string, len(rows[0])-2)...)
			rows = append(rows, extra) // a row of nobody
			var b strings.Builder
			cw := csv.NewWriter(&b)
			if err := cw.WriteAll(rows); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, b.String())
		},
		"saved with a BOM and CRLF": func(t *testing.T, path string) {
			writeFile(t, path, "\ufeff"+strings.ReplaceAll(readFile(t, path), "\n", "\r\n"))
		},
	}
	for name, change := range tamper {
		t.Run(name, func(t *testing.T) {
			w := newWorkspace(t, 20)
			w.mustRun("sync")
			change(t, w.path("contacts.csv"))
			r := w.run(nil, "sync")
			if r.code != 0 {
				t.Fatalf("sync after the file was %s: exit %d:\n%s", name, r.code, r.stderr)
			}
			w.assertMirrors()
			if data := readFile(t, w.path("contacts.csv")); strings.Contains(data, "\r") || strings.HasPrefix(data, "\ufeff") {
				t.Errorf("the file kept the editor's BOM or CRLF")
			}
			if st := w.run(nil, "status"); !strings.Contains(st.stdout, "drift") {
				t.Errorf("status does not say what drifted:\n%s", st.stdout)
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
