package natsstate

import (
	"context"
	"errors"
	"fmt"
)

// A lease (package lease) makes one instance at a time the holder of a
// workspace, and ends the holder's context when its lease ends. Every
// operation of a Workspace runs under that context, so a holder whose
// lease has ended stops writing. But the holder checks its context on its
// own clock: a process frozen past its lease, or a write sent just before
// its end, could still land after another instance took the workspace
// over. So the bucket itself refuses a stale writer:
//
//   - Every write of a Workspace starts with one message to the wal key,
//     stored only if the key's last message is still the one the Workspace
//     knows of (JetStream's Nats-Expected-Last-Subject-Sequence, which the
//     server checks as it stores the message, in order with every other):
//     the write-ahead record of a chunk, the delete of the record that a
//     single-key write starts with, the delete that starts each page of a
//     compaction and its purge. The Workspace knows that message from its
//     own last write to the key (the server's reply), or from loading.
//   - Opening a Workspace takes the workspace over before it reads or
//     writes anything else: it reads the wal key's last message and writes
//     the key on that same condition, putting back the write-ahead record
//     the key holds (to replay it next), or a delete marker when it holds
//     none. If a write lands in between, it reads the key again. From then
//     on the wal key's last message is none that an older Workspace knows
//     of: the older one's next write fails, with ErrFenced, and so does
//     every operation it is asked for after that.
//
// What follows a write's first message is not checked: a chunk's puts
// and deletes, sent pipelined once its record is stored. They cannot undo
// the new holder's takeover. A stale writer's record stored after the
// takeover's read of the wal key makes the takeover's own write fail, and
// the takeover reads the key again; one stored after the takeover's write
// is refused, and nothing of that chunk is sent. So the only stale puts
// that can land after a takeover are those of the record it found and
// replays: each sets a key to the value the replay sets it to (replaying
// is idempotent), so the index the new holder reads afterwards is the
// same whether they land before or after. The risk left is such a put
// landing after the new holder has written the same key again, which
// takes it longer to reach the server than the takeover, the replay, the
// reading of the index and a write take the new holder: a write already
// on the wire, which the lease's margin is there for. A publish made
// while the connection is down would be such a write if nats.go kept it
// to send after reconnecting, hence DB.Workspace's refusal of a
// connection that does.
//
// A Workspace whose write failed part-way loads itself again before its
// next operation, which takes the workspace over like a new one, and
// must not take it from a Workspace opened since. It only does when the
// wal key's last message is one this Workspace knows of: the one its last
// write left, or one it wrote itself (each write to the key names its
// writer, and the reply to a write may be lost while the write landed).
// Anything else means another Workspace has taken the workspace over, and
// this one is fenced out. So a reload never fences out a newer Workspace,
// whatever the leases do; and one whose lease has ended does not even
// try, since its every operation fails with its context first.
//
// Compare-and-set on a key is only as good as the server's: a clustered
// nats-server before 2.9.21 may accept two concurrent writes expecting the
// same message (see package lease), here a stale write and a takeover
// racing.

// ErrFenced means another Workspace has taken the workspace over since
// this one was opened, most likely in another instance, whose lease began
// after this one's ended: this Workspace writes nothing more and fails
// every operation.
var ErrFenced = errors.New("another instance has written it since this one loaded it")

// errReadOnly is what a write of DB.Status's Workspace would fail with.
var errReadOnly = errors.New("a read-only workspace does not write")

// takeOverTries bounds how often opening reads the wal key again when a
// write lands between its read and its own.
const takeOverTries = 5

// takeOver makes this Workspace the workspace's writer, and replays the
// write-ahead record the wal key holds, if any. The caller holds w.mu.
func (w *Workspace) takeOver(ctx context.Context) error {
	for try := 1; ; try++ {
		err := w.timed(ctx, w.claim)
		if !errors.Is(err, errLost) || try == takeOverTries {
			return err
		}
	}
}

// claim is one try of takeOver.
func (w *Workspace) claim(ctx context.Context) error {
	last, err := w.db.wire.last(ctx, w.keys.prefix+keyWAL)
	if err != nil {
		return fmt.Errorf("write-ahead record: %w", err)
	}
	if w.claimed && last.seq != w.walSeq && last.writer != w.id {
		w.fenced = true
		return ErrFenced
	}
	var ops []op
	mark := del(keyWAL)
	if last.value != nil {
		if ops, err = decodeWAL(last.value); err != nil {
			return fmt.Errorf("write-ahead record: %w", err)
		}
		mark = put(keyWAL, last.value)
	}
	w.walSeq = last.seq
	if err := w.hit("take-over"); err != nil {
		return err
	}
	if err := w.writeIf(ctx, mark); err != nil {
		return fmt.Errorf("write-ahead record: %w", err)
	}
	w.claimed = true
	if err := w.write(ctx, ops); err != nil {
		return fmt.Errorf("replay the write-ahead record: %w", err)
	}
	return nil
}

// fence writes o, an op of the wal key, as the first message of a write.
// It fails with ErrFenced, for good, when another Workspace has written
// the key since this one last did.
func (w *Workspace) fence(ctx context.Context, o op) error {
	err := w.writeIf(ctx, o)
	if errors.Is(err, errLost) {
		w.fenced = true
		return ErrFenced
	}
	return err
}

// writeIf writes o, an op of the wal key, if the key's last message is
// still the one w knows of, and then knows of o's.
func (w *Workspace) writeIf(ctx context.Context, o op) error {
	if w.readOnly {
		return errReadOnly
	}
	seq, err := w.db.wire.writeIf(ctx, w.keys.full([]op{o})[0], w.walSeq, w.id)
	if err != nil {
		return err
	}
	w.walSeq = seq
	return nil
}

// write applies puts and deletes of the workspace's keys, as they follow
// a write's first message.
func (w *Workspace) write(ctx context.Context, ops []op) error {
	if w.readOnly {
		return errReadOnly
	}
	return w.db.wire.write(ctx, w.keys.full(ops))
}

// purge removes the messages of a family of keys older than seq.
func (w *Workspace) purge(ctx context.Context, family string, seq uint64) error {
	if w.readOnly {
		return errReadOnly
	}
	return w.db.wire.purgeBefore(ctx, w.keys.prefix+family, seq)
}
