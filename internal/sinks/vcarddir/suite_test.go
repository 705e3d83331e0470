package vcarddir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/sinks/sinktest"
)

func TestSinkContract(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Destination {
		dir := filepath.Join(t.TempDir(), "cards")
		return sinktest.Destination{
			Open: func(env sinks.Env) (sinks.Sink, error) {
				cfg := DefaultConfig()
				cfg.Path = dir
				return cfg.Open(env)
			},
			Contents: func() []string {
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				var cards []string
				for _, e := range entries {
					b, err := os.ReadFile(filepath.Join(dir, e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					cards = append(cards, string(b))
				}
				return cards
			},
			// A file where the folder was: every write fails with ENOTDIR.
			Break: func() {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dir, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			Lose: func(id string) {
				if err := os.Remove(filepath.Join(dir, fileName(id))); err != nil {
					t.Fatal(err)
				}
			},
			// Rewritten in place, as an editor that keeps the file does.
			Edit: func(id string) {
				path := filepath.Join(dir, fileName(id))
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, path, strings.Replace(string(data), "@example.com", "@edited.example", 1))
			},
			// A card of another program, named like the sink's, and a
			// file that is no card.
			Foreign: func() {
				writeFile(t, filepath.Join(dir, "9999.vcf"), "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:other-program-1\r\nFN:Someone Else\r\nEND:VCARD\r\n")
				writeFile(t, filepath.Join(dir, "notes.txt"), "not a card")
			},
		}
	})
}
