package boltstate

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/state"

	"github.com/connect-sync/connect-sync/internal/contact"
)

func TestWorkspacesAreIndependent(t *testing.T) {
	db, path := openTemp(t)
	b, a := workspace(t, db, "b"), workspace(t, db, "a")
	for _, w := range []*Workspace{a, b} {
		if err := w.RegisterSink(t.Context(), "hook", state.SinkInfo{Type: "webhook"}); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	err := errors.Join(
		a.Commit(t.Context(), []state.Detected{change("1", contact.Created), change("2", contact.Created)}),
		a.RecordRun(t.Context(), state.Run{FinishedAt: at, Result: state.RunSucceeded}),
		a.BeginImports(t.Context(), []string{"fp"}),
		a.Memo("hook").Put(t.Context(), "1", []byte("m")),
		a.UpdateSink(t.Context(), "hook", func(info *state.SinkInfo) { info.LastError = "503" }),
		a.Bury(t.Context(), "hook", []state.Burial{{Seq: 1, Error: "422", At: at}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := a.Status(t.Context()); st.Workspace != "a" || st.Contacts != 2 || st.LastRun == nil || st.Sinks[0].Pending != 1 || st.Sinks[0].DeadLetters != 1 {
		t.Fatalf("a's status %+v", st)
	}

	tests := []struct {
		name string
		read func() (any, error)
		want any
	}{
		{"checkpoint", func() (any, error) { return b.Checkpoint(t.Context()) }, map[string]state.Entry{}},
		{"snapshots", func() (any, error) { return b.Snapshots(t.Context(), []string{"1", "2"}) }, map[string]json.RawMessage{}},
		{"sinks", func() (any, error) { return b.Sinks(t.Context()) }, map[string]state.SinkInfo{"hook": {Type: "webhook"}}},
		{"queue", func() (any, error) { return b.Queue(t.Context(), "hook", 0, 10) }, []state.Queued(nil)},
		{"pending", func() (any, error) { return b.Pending(t.Context(), "hook") }, 0},
		{"status", func() (any, error) { return b.Status(t.Context()) }, state.Status{Workspace: "b", Sinks: []state.SinkStatus{{Name: "hook", Type: "webhook"}}}},
		{"memo", func() (any, error) { return b.Memo("hook").Get(t.Context(), "1") }, []byte(nil)},
		{"import", func() (any, error) {
			_, found, err := b.ImportedContact(t.Context(), "fp")
			return found, err
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.read()
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("b's %s: %#v, %v; want %#v", tt.name, got, err, tt.want)
			}
		})
	}

	// Writes to b leave a alone in turn.
	if err := b.Commit(t.Context(), []state.Detected{change("3", contact.Created)}); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.Pending(t.Context(), "hook"); n != 1 {
		t.Errorf("a's pending %d after a commit in b, want 1", n)
	}
	if err := a.DropSink(t.Context(), "hook"); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Pending(t.Context(), "hook"); err != nil || n != 1 {
		t.Errorf("b's pending %d, %v after a dropped its sink of the same name", n, err)
	}

	if names, err := db.Workspaces(); err != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("workspaces %v, %v", names, err)
	}
	if _, err := db.Workspace(""); err == nil {
		t.Error("a workspace without a name was opened")
	}

	db.Close()
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if names, err := ro.Workspaces(); err != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Errorf("read-only workspaces %v, %v", names, err)
	}
	if st, err := workspace(t, ro, "a").Status(t.Context()); err != nil || st.Contacts != 2 {
		t.Errorf("read-only status of a: %+v, %v", st, err)
	}
}

func TestReadOnlyWorkspaceWithoutState(t *testing.T) {
	db, path := openTemp(t)
	workspace(t, db, "a")
	db.Close()
	// A write would set the modification time to now.
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want error
	}{
		{"a", nil},
		{"b", state.ErrNotFound},
		{state.DefaultWorkspace, state.ErrNotFound},
	}
	for _, tt := range tests {
		if w, err := ro.Workspace(tt.name); !errors.Is(err, tt.want) || (err == nil) != (w != nil) {
			t.Errorf("Workspace(%q) = %v, %v; want %v", tt.name, w, err, tt.want)
		}
	}
	if _, err := ro.Workspace(""); err == nil {
		t.Error("a workspace without a name was opened")
	}
	if names, err := ro.Workspaces(); err != nil || !slices.Equal(names, []string{"a"}) {
		t.Errorf("workspaces %v, %v", names, err)
	}
	ro.Close()

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) || !fi.ModTime().Equal(past) {
		t.Errorf("the read-only open changed the file (modified %v)", fi.ModTime())
	}
}
