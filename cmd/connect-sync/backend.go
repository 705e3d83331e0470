package main

import (
	"fmt"

	"github.com/connect-sync/connect-sync/internal/config"
)

// needsStateFile refuses a command that works on the state file alone
// when the state is in JetStream: there, a workspace's state belongs to
// the instance that holds its lease, and a second writer would corrupt
// what that instance holds in memory.
func needsStateFile(cfg *config.Config, command string) error {
	if cfg.State.Backend != config.BackendNATS {
		return nil
	}
	return usageError{err: fmt.Errorf("%s: with state.backend nats, each workspace belongs to the `connect-sync run` instance holding its lease: ask that one (POST /sync, POST /sinks/NAME/redeliver on its listener); `connect-sync status` says which it is", command)}
}
