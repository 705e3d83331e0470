// Package state is the contract of a workspace's state, which the engine,
// the import, the commands and the service use and every backend keeps
// alike: the checkpoint (what each contact looked like at the last run),
// the outbox (each sink's queue of changes it has not acknowledged, its
// dead letters and memos), the import ledger and the run records. It holds
// the shared types only; the backends are internal/boltstate (one file,
// one process) and internal/natsstate (JetStream, shared by instances),
// and internal/state/statetest is the behaviour both pass.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Store is the state of one Connect workspace.
//
// Every method takes the operation's context first: an operation that
// waits on a server (natsstate) ends when it does; one that cannot block
// (boltstate, a local file) may finish regardless. Each method is atomic:
// it is stored whole or not at all, as a transaction is. Methods are safe
// for concurrent use; writes take turns.
type Store interface {
	Checkpoint
	Outbox
	Ledger

	// RecordRun stores a run's record, and when it succeeded, its time
	// as the last success.
	RecordRun(ctx context.Context, r Run) error
	// Status reads the workspace's status, sinks in name order.
	Status(ctx context.Context) (Status, error)
}

// Checkpoint is what a run compares the contacts it fetched with.
type Checkpoint interface {
	// Checkpoint returns every tracked contact's entry.
	Checkpoint(ctx context.Context) (map[string]Entry, error)
	// IDs returns every tracked contact's id, sorted: what an audit of a
	// destination walks, without the entries.
	IDs(ctx context.Context) ([]string, error)
	// Snapshots returns the stored snapshots of the given contacts; ids
	// without one are absent from the result.
	Snapshots(ctx context.Context, ids []string) (map[string]json.RawMessage, error)
}

// Outbox is the changes detected and each sink's part of them.
type Outbox interface {
	// Commit records a batch of detected changes at once: the new
	// checkpoint entry and snapshot of each contact, and the change in the
	// queue of every registered sink. A crash never separates a checkpoint
	// from the deliveries it implies: contacts of a batch that did not
	// commit are detected again by the next run.
	Commit(ctx context.Context, batch []Detected) error
	// Touch records new checkpoint entries and queues nothing.
	Touch(ctx context.Context, batch []Touch) error

	// Sinks returns every registered sink by name.
	Sinks(ctx context.Context) (map[string]SinkInfo, error)
	// RegisterSink starts tracking a sink with an empty queue, replacing
	// whatever was recorded under its name, memo and dead letters
	// included.
	RegisterSink(ctx context.Context, name string, info SinkInfo) error
	// DropSink forgets a sink, its queue, dead letters and memo; change
	// records nobody references any more go too.
	DropSink(ctx context.Context, name string) error
	// UpdateSink changes what is recorded of a sink; ErrNotFound for a
	// sink that is not registered.
	UpdateSink(ctx context.Context, name string, update func(*SinkInfo)) error
	// Backfill queues a creation of every tracked contact for one sink (a
	// sink new to the config, or reset), in writes of a bounded size, each
	// change named by newID, then clears the sink's Backfilling mark, so
	// that an interrupted back-fill can be told from a finished one. It
	// returns how many it queued.
	Backfill(ctx context.Context, sink string, now time.Time, newID func() string) (int, error)

	// Enqueue queues changes for one sink only, each under a record of its
	// own, after what the sink has queued: a repair of its destination,
	// which the other sinks do not need. ErrNotFound for a sink that is
	// not registered.
	Enqueue(ctx context.Context, sink string, changes []contact.Change) error

	// Queue returns up to limit of a sink's queued changes after sequence
	// number after, in order.
	Queue(ctx context.Context, sink string, after uint64, limit int) ([]Queued, error)
	// Ack removes acknowledged changes from a sink's queue and counts
	// them delivered; a change record nobody references any more goes.
	Ack(ctx context.Context, sink string, seqs []uint64) error
	// Bury moves changes from a sink's queue to its dead letters.
	Bury(ctx context.Context, sink string, burials []Burial) error
	// Pending counts a sink's queued changes.
	Pending(ctx context.Context, sink string) (int, error)
	// Redeliver puts a sink's dead letter back in its queue (event is its
	// change id; "" for all of them), each carrying its contact as it is
	// now, so that nothing older lands over newer data, and enables the
	// sink again if it was disabled. It returns how many it queued;
	// ErrNotFound for an unknown sink or event.
	Redeliver(ctx context.Context, sink, event string) (int, error)

	// Memo returns a sink's memo; its methods fail with ErrNotFound while
	// the sink is not registered, and it is emptied when the sink is
	// dropped or registered again.
	Memo(sink string) sinks.Memo
}

// Ledger is `connect-sync import`'s record of the contacts it created,
// keyed by each input record's fingerprint, so that an import run again
// creates no duplicates.
type Ledger interface {
	// ImportedContact returns what is known of the record with the
	// fingerprint, and whether anything is.
	ImportedContact(ctx context.Context, fingerprint string) (Import, bool, error)
	// BeginImports marks records pending, at once, before their creates
	// are sent, so that after a crash the next import looks for them in
	// the workspace. A contact recorded for one of them is forgotten: it
	// is being created again because that contact is gone.
	BeginImports(ctx context.Context, fingerprints []string) error
	// RecordImport records the contact a record was created as.
	RecordImport(ctx context.Context, fingerprint, contactID string) error
	// AbandonImport forgets a pending record whose create certainly did
	// not happen (refused, or never sent); a recorded contact is left
	// alone.
	AbandonImport(ctx context.Context, fingerprint string) error
}

// DefaultWorkspace is the workspace of a config that names none, and the
// one a state file of schema 1 or 2 held.
const DefaultWorkspace = "default"

// ErrNotFound means no workspace, sink or dead letter of that name is
// registered.
var ErrNotFound = errors.New("not registered")
