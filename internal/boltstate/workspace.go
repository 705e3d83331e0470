package boltstate

import (
	"errors"
	"fmt"

	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"

	bolt "go.etcd.io/bbolt"
)

// schemaWorkspaces is the first schema with workspaces: older files kept
// the buckets of their one workspace at the root.
const schemaWorkspaces = 3

// workspaceBuckets are the buckets every workspace has, besides meta.
var workspaceBuckets = [][]byte{bucketContacts, bucketSnapshots, bucketChanges, bucketSinks, bucketImports}

// Workspace is the state of one Connect workspace: its checkpoint, change
// records, sinks, import ledger and run records.
type Workspace struct {
	db   *DB
	name string
}

// Workspace returns the state of the named workspace. On a writable file it
// creates the workspace's buckets when they are missing. On a read-only
// file a workspace with no state yet is ErrNotFound, and nothing is
// written.
func (db *DB) Workspace(name string) (*Workspace, error) {
	if name == "" {
		return nil, errors.New("state: empty workspace name")
	}
	w := &Workspace{db: db, name: name}
	var exists bool
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		exists = w.space(tx) != nil
		return nil
	}); err != nil {
		return nil, err
	}
	switch {
	case exists:
		return w, nil
	case db.bolt.IsReadOnly():
		return nil, fmt.Errorf("state: workspace %s: %w", name, state.ErrNotFound)
	}
	// Only now a write transaction: the service asks for a workspace at
	// every run and every /status, and an update costs an fsync.
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return createWorkspace(tx, name) }); err != nil {
		return nil, err
	}
	return w, nil
}

func createWorkspace(tx *bolt.Tx, name string) error {
	ws, err := tx.Bucket(bucketWorkspaces).CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return fmt.Errorf("state: workspace %s: %w", name, err)
	}
	for _, b := range append([][]byte{bucketMeta}, workspaceBuckets...) {
		if _, err := ws.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("state: workspace %s: %w", name, err)
		}
	}
	return nil
}

// Workspaces returns the names of the workspaces that have state, sorted.
func (db *DB) Workspaces() ([]string, error) {
	if db.schema < schemaWorkspaces {
		return []string{state.DefaultWorkspace}, nil
	}
	var names []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		// bbolt keeps keys in byte order, which is Go's order of strings.
		return tx.Bucket(bucketWorkspaces).ForEachBucket(func(k []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	return names, err
}

// space is where a workspace's buckets are: its bucket under workspaces,
// or the root (a *bolt.Tx) of a file of schema 1 or 2, which can only have
// been opened read-only.
type space interface {
	Bucket(name []byte) *bolt.Bucket
}

// space returns the workspace's buckets, nil when it has none.
func (w *Workspace) space(tx *bolt.Tx) space {
	if w.db.schema < schemaWorkspaces {
		if w.name != state.DefaultWorkspace {
			return nil
		}
		return tx
	}
	// Not returned directly: a nil *bolt.Bucket would make a non-nil space.
	if b := tx.Bucket(bucketWorkspaces).Bucket([]byte(w.name)); b != nil {
		return b
	}
	return nil
}

// view and update run fn in a transaction on the workspace's buckets,
// which exist: DB.Workspace checked or created them, and nothing deletes
// them.
func (w *Workspace) view(fn func(space) error) error {
	return w.db.bolt.View(func(tx *bolt.Tx) error { return fn(w.space(tx)) })
}

func (w *Workspace) update(fn func(space) error) error {
	return w.db.bolt.Update(func(tx *bolt.Tx) error { return fn(w.space(tx)) })
}

// Interface guards.
var (
	_ state.Store = (*Workspace)(nil)
	_ sinks.Memo  = (*Memo)(nil)
)
