package backend

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/state"
)

func TestFileStatusOfAWorkspaceWithoutStateCreatesNothing(t *testing.T) {
	f, err := OpenFile(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Status(t.Context(), "acme")
	if err != nil || st.Workspace != "acme" || st.LastRun != nil || len(st.Sinks) != 0 {
		t.Fatalf("status %+v, %v; want an empty one", st, err)
	}
	if names, _ := f.Workspaces(); len(names) != 0 {
		t.Errorf("reading a status created the workspaces %v", names)
	}
}

func TestFileKeepsAWorkspacesRuns(t *testing.T) {
	f, err := OpenFile(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ws, err := f.Workspace(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	run := state.Run{StartedAt: time.Now(), FinishedAt: time.Now(), Result: state.RunSucceeded}
	if err := ws.RecordRun(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	st, err := f.Status(t.Context(), "acme")
	if err != nil || st.LastRun == nil || st.LastRun.Result != state.RunSucceeded {
		t.Errorf("status %+v, %v; want the run recorded", st, err)
	}
	if _, err := f.Redeliver(t.Context(), "acme", "no-such-sink", ""); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("redeliver to an unknown sink: %v, want state.ErrNotFound", err)
	}
	if names, _ := f.Workspaces(); len(names) != 1 || names[0] != "acme" {
		t.Errorf("workspaces %v, want [acme]", names)
	}
}

// One process at a time holds the file; a read-only open reads it
// without changing a byte, and needs it to exist.
func TestFileHolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if _, err := OpenFileReadOnly(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only open of a missing file: %v, want os.ErrNotExist", err)
	}
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(path); !errors.Is(err, ErrLocked) {
		t.Errorf("a second open while the first holds the file: %v, want ErrLocked", err)
	}
	if _, err := f.Workspace(t.Context(), "acme"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := OpenFileReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Workspace(t.Context(), "other"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("a workspace without state, read-only: %v, want state.ErrNotFound", err)
	}
	if st, err := ro.Status(t.Context(), "other"); err != nil || st.Workspace != "other" {
		t.Errorf("its status: %+v, %v; want an empty one", st, err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Error("a read-only open changed the file")
	}
}
