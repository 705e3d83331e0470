// Package backend opens the state backend the config names and hands out
// each workspace's state to the commands and the service: a bbolt file
// that this process holds (File), or the state in JetStream, shared with
// other instances, each workspace written by the instance that holds its
// lease (Shared).
package backend

import (
	"context"

	"github.com/connect-sync/connect-sync/internal/state"
)

// Backend is where a process keeps its workspaces' state.
type Backend interface {
	// Workspace returns a workspace's state for a run, creating it when
	// there is none yet. ctx is the run's.
	Workspace(ctx context.Context, name string) (state.Store, error)
	// Status reads a workspace's status without writing anything; a
	// workspace with no state yet has an empty one.
	Status(ctx context.Context, name string) (state.Status, error)
	// Redeliver queues a sink's dead letters again (state.Store's
	// Redeliver), writing as a run of the workspace would.
	Redeliver(ctx context.Context, workspace, sink, event string) (int, error)
	Close() error
}

// Interface guards.
var (
	_ Backend = (*File)(nil)
	_ Backend = (*Shared)(nil)
)
