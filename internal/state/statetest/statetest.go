// Package statetest is the behaviour every backend of a workspace's state
// must show: what the engine relies on (the transactional outbox, queues
// per sink, dead letters) and what the commands and the service read
// (status, memos, the import ledger): state.Store's contract. Run runs it
// against one backend; boltstate and natsstate both pass it.
package statetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Backend is one empty, persistent home for the suite's stores: a state
// file, a key-value bucket.
type Backend struct {
	// Open opens the state of the named workspace, creating it if needed.
	Open func(workspace string) (state.Store, error)
	// Reopen closes every store Open returned, as a process that ends
	// would, and makes later Opens read the same persistent state again.
	// The closed stores are not used again.
	Reopen func() error
	// Changes, when set, counts the change records a workspace keeps, so
	// that the suite can check that none outlives its last reference
	// (from a queue or a dead letter).
	Changes func(workspace string) (int, error)
}

// Run runs the suite. newBackend is called once per test for an empty
// backend.
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b *harness)
	}{
		{"CommitWritesCheckpointAndSnapshots", testCommit},
		{"IDsAreTheTrackedOnesSorted", testIDs},
		{"QueueHoldsChangesInOrderPerSink", testQueueOrder},
		{"QueuePages", testQueuePaging},
		{"TouchQueuesNothing", testTouch},
		{"BackfillQueuesEverySnapshotInOrder", testBackfill},
		{"BackfillOfThousands", testBigBackfill},
		{"AckRemovesUnreferencedRecords", testAck},
		{"EnqueueForOneSink", testEnqueue},
		{"DropSinkCollectsItsRecords", testDropSink},
		{"RegisterAgainStartsOver", testRegisterAgain},
		{"UpdateSink", testUpdateSink},
		{"BuryAndRedeliver", testBuryAndRedeliver},
		{"RedeliverCarriesTheContactAsItIsNow", testRedeliverRefreshes},
		{"RedeliverEnablesTheSink", testRedeliverEnables},
		{"Status", testStatus},
		{"StatusListsTheOldestDeadLetters", testStatusDeadLetters},
		{"Memo", testMemo},
		{"ImportLedger", testImports},
		{"ReopenKeepsEverything", testReopen},
		{"WorkspacesAreIndependent", testWorkspaces},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, &harness{t: t, Backend: newBackend(t)})
		})
	}
}

// harness wraps a Backend with failing-fast helpers.
type harness struct {
	t *testing.T
	Backend
}

func (h *harness) open(workspace string) state.Store {
	h.t.Helper()
	s, err := h.Open(workspace)
	if err != nil {
		h.t.Fatalf("open workspace %s: %v", workspace, err)
	}
	return s
}

func (h *harness) reopen(workspace string) state.Store {
	h.t.Helper()
	if err := h.Reopen(); err != nil {
		h.t.Fatalf("reopen: %v", err)
	}
	return h.open(workspace)
}

// checkChanges checks the count of change records, when the backend can
// tell it.
func (h *harness) checkChanges(workspace string, want int, why string) {
	h.t.Helper()
	if h.Changes == nil {
		return
	}
	n, err := h.Changes(workspace)
	if err != nil {
		h.t.Fatal(err)
	}
	if n != want {
		h.t.Errorf("%d change records, want %d: %s", n, want, why)
	}
}

const ws = "acme"

// raw is a contact's JSON.
func raw(id, email string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id":%q,"email":%q}`, id, email))
}

func parse(t *testing.T, b json.RawMessage) contact.Contact {
	t.Helper()
	c, err := contact.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var detectedAt = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// entry is a checkpoint entry that differs per contact and version.
func entry(id string, version byte) *state.Entry {
	e := &state.Entry{LastActivityAt: "2026-01-0" + string('1'+version%9) + "T00:00:00Z"}
	copy(e.Hash[:], id)
	e.Hash[15] = version
	e.Raw = e.Hash
	e.Raw[0] ^= 0xff
	return e
}

// created, updated and deleted are detected changes as the engine commits
// them.
func created(t *testing.T, id string) state.Detected {
	t.Helper()
	c := contact.Change{ID: "msg_c" + id, Kind: contact.Created, DetectedAt: detectedAt, Contact: parse(t, raw(id, id+"@example.com"))}
	return state.Detected{Change: c, Entry: entry(id, 0)}
}

func updated(t *testing.T, id, email string) state.Detected {
	t.Helper()
	prev := parse(t, raw(id, id+"@example.com"))
	c := contact.Change{
		ID: "msg_u" + id, Kind: contact.Updated, DetectedAt: detectedAt.Add(time.Minute),
		Contact: parse(t, raw(id, email)), Previous: &prev, ChangedFields: []string{"email"},
	}
	return state.Detected{Change: c, Entry: entry(id, 1)}
}

func deleted(t *testing.T, id string) state.Detected {
	t.Helper()
	c := contact.Change{ID: "msg_d" + id, Kind: contact.Deleted, DetectedAt: detectedAt.Add(2 * time.Minute), Contact: parse(t, raw(id, id+"@example.com"))}
	return state.Detected{Change: c}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func register(t *testing.T, s state.Store, names ...string) {
	t.Helper()
	for _, n := range names {
		must(t, s.RegisterSink(t.Context(), n, state.SinkInfo{Type: "webhook", Target: "https://" + n + ".example/hook"}))
	}
}

func commit(t *testing.T, s state.Store, batch ...state.Detected) {
	t.Helper()
	must(t, s.Commit(t.Context(), batch))
}

func queue(t *testing.T, s state.Store, sink string) []state.Queued {
	t.Helper()
	q, err := s.Queue(t.Context(), sink, 0, 1<<20)
	if err != nil {
		t.Fatalf("queue of %s: %v", sink, err)
	}
	return q
}

func pending(t *testing.T, s state.Store, sink string) int {
	t.Helper()
	n, err := s.Pending(t.Context(), sink)
	if err != nil {
		t.Fatalf("pending of %s: %v", sink, err)
	}
	return n
}

func seqs(q []state.Queued) []uint64 {
	out := make([]uint64, len(q))
	for i, c := range q {
		out[i] = c.Seq
	}
	return out
}

// ids lists the change ids of a queue.
func ids(q []state.Queued) []string {
	out := make([]string, len(q))
	for i, c := range q {
		out[i] = c.Change.ID
	}
	return out
}

func status(t *testing.T, s state.Store) state.Status {
	t.Helper()
	st, err := s.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func sinkStatus(t *testing.T, s state.Store, sink string) state.SinkStatus {
	t.Helper()
	for _, ss := range status(t, s).Sinks {
		if ss.Name == sink {
			return ss
		}
	}
	t.Fatalf("no sink %s in the status", sink)
	return state.SinkStatus{}
}

func notFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, state.ErrNotFound) {
		t.Errorf("%s: %v, want state.ErrNotFound", what, err)
	}
}
