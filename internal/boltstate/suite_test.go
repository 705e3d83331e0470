package boltstate_test

import (
	"path/filepath"
	"testing"

	"github.com/connect-sync/connect-sync/internal/boltstate"
	"github.com/connect-sync/connect-sync/internal/state"
	"github.com/connect-sync/connect-sync/internal/state/statetest"
)

// TestSuite runs the behaviour every backend of the state shows against
// the bbolt file.
func TestSuite(t *testing.T) {
	statetest.Run(t, func(t *testing.T) statetest.Backend {
		path := filepath.Join(t.TempDir(), "state.db")
		var db *boltstate.DB
		open := func() error {
			var err error
			db, err = boltstate.Open(path)
			return err
		}
		if err := open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return statetest.Backend{
			Open: func(name string) (state.Store, error) { return db.Workspace(name) },
			Reopen: func() error {
				if err := db.Close(); err != nil {
					return err
				}
				return open()
			},
			Changes: func(name string) (int, error) { return db.CountChanges(name) },
		}
	})
}
