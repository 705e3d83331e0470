package natsstate

import (
	"context"
	"testing"

	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/state"
	"github.com/connect-sync/connect-sync/internal/state/statetest"
)

// TestSuite runs the behaviour every backend of the state shows, each
// test in a bucket of its own on one server. Reopen opens the bucket
// again on a new connection, as another process would.
func TestSuite(t *testing.T) {
	srv := natstest.Start(t)
	statetest.Run(t, func(t *testing.T) statetest.Backend {
		bucket := newBucket()
		db := openDB(t, connect(t, srv.URL), Options{Bucket: bucket})
		return statetest.Backend{
			Open: func(name string) (state.Store, error) {
				return db.Workspace(context.Background(), context.Background(), name)
			},
			Reopen: func() error {
				db = openDB(t, connect(t, srv.URL), Options{Bucket: bucket})
				return nil
			},
			Changes: func(name string) (int, error) { return countChanges(t, db, name), nil },
		}
	})
}
