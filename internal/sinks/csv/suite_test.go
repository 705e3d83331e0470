package csv_test

import (
	stdcsv "encoding/csv"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/sinks/csv"
	"github.com/connect-sync/connect-sync/internal/sinks/sinktest"
)

func TestSinkContract(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Destination {
		dir := filepath.Join(t.TempDir(), "out")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "contacts.csv")
		return sinktest.Destination{
			Open: func(env sinks.Env) (sinks.Sink, error) {
				cfg := csv.DefaultConfig()
				cfg.Path = path
				return cfg.Open(env)
			},
			Contents: func() []string {
				f, err := os.Open(path)
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				records, err := stdcsv.NewReader(f).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				var rows []string
				for _, r := range records[1:] {
					rows = append(rows, strings.Join(r, ","))
				}
				return rows
			},
			Break: func() {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			},
			Lose: func(id string) {
				rewriteRow(t, path, id, func(string) string { return "" })
			},
			Edit: func(id string) {
				rewriteRow(t, path, id, func(line string) string { return strings.Replace(line, "@example.com", "@edited.example", 1) })
			},
		}
	})
}

// rewriteRow changes the file's row of the contact as an editor would,
// keeping the file's other lines.
func rewriteRow(t *testing.T, path, id string, change func(line string) string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.HasPrefix(line, id+",") {
			line = change(line)
		}
		out = append(out, line)
	}
	if err := os.WriteFile(path, []byte(strings.Join(out, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}
