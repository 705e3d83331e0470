package backend

import (
	"context"
	"slices"

	"github.com/connect-sync/connect-sync/internal/boltstate"
	"github.com/connect-sync/connect-sync/internal/state"
)

// ErrLocked means another process holds the state file.
var ErrLocked = boltstate.ErrLocked

// File is the bbolt state file, which one process at a time holds.
type File struct {
	db *boltstate.DB
}

// OpenFile opens (or creates) the state file for writing; while another
// process holds it, it fails with ErrLocked.
func OpenFile(path string) (*File, error) {
	db, err := boltstate.Open(path)
	if err != nil {
		return nil, err
	}
	return &File{db: db}, nil
}

// OpenFileReadOnly opens an existing state file without changing a byte of
// it, whoever holds it: a missing file is os.ErrNotExist. Its Workspace
// fails with state.ErrNotFound for a workspace with no state yet, and it
// writes nothing.
func OpenFileReadOnly(path string) (*File, error) {
	db, err := boltstate.OpenReadOnly(path)
	if err != nil {
		return nil, err
	}
	return &File{db: db}, nil
}

// Workspace returns a workspace's state.
func (f *File) Workspace(_ context.Context, name string) (state.Store, error) {
	ws, err := f.db.Workspace(name)
	if err != nil {
		return nil, err // not a nil *Workspace in the interface
	}
	return ws, nil
}

// Status reads a workspace's status.
func (f *File) Status(ctx context.Context, name string) (state.Status, error) {
	names, err := f.db.Workspaces()
	if err != nil {
		return state.Status{}, err
	}
	if !slices.Contains(names, name) { // not created just to be read
		return state.Status{Workspace: name}, nil
	}
	ws, err := f.db.Workspace(name)
	if err != nil {
		return state.Status{}, err
	}
	return ws.Status(ctx)
}

// Redeliver queues a sink's dead letters again.
func (f *File) Redeliver(ctx context.Context, workspace, sink, event string) (int, error) {
	ws, err := f.db.Workspace(workspace)
	if err != nil {
		return 0, err
	}
	return ws.Redeliver(ctx, sink, event)
}

// Workspaces lists the workspaces that have state in the file.
func (f *File) Workspaces() ([]string, error) { return f.db.Workspaces() }

// Close closes the file and lets go of its lock.
func (f *File) Close() error { return f.db.Close() }
