package vcarddir

import (
	"os"
	"path/filepath"
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
		}
	})
}
