package natsstate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// A write of several keys is made crash-safe by a write-ahead record:
//
//  1. every put and delete of the chunk is stored as one value under the
//     workspace's wal key (one message: the server stores it whole or not);
//  2. the puts and deletes are applied, pipelined, in any order: each
//     sets a key to its final value, so applying them again is harmless;
//  3. the index in memory takes them.
//
// The record stays until the next write: a write-ahead write replaces it,
// a single-key write deletes it first. So when the wal key holds a record,
// nothing was written after it but (part of) its own keys, and replaying
// it when the workspace is opened finishes the write or repeats it
// harmlessly. Writing the wal key first is also what fences a stale
// writer out (see fence.go).

// walMagic starts every write-ahead record, and names its format.
const walMagic = "csw1"

const (
	walPut byte = 1
	walDel byte = 2
)

// chunkSize is what a chunk of a big write aims at: well under the
// server's 1 MB default max_payload.
const chunkSize = 256 << 10

// opSize is what an op adds to a write-ahead record.
func opSize(o op) int {
	return 1 + 2*binary.MaxVarintLen32 + len(o.key) + len(o.value)
}

func encodeWAL(ops []op) []byte {
	n := len(walMagic)
	for _, o := range ops {
		n += opSize(o)
	}
	b := make([]byte, 0, n)
	b = append(b, walMagic...)
	for _, o := range ops {
		if o.del {
			b = append(b, walDel)
			b = binary.AppendUvarint(b, uint64(len(o.key)))
			b = append(b, o.key...)
			continue
		}
		b = append(b, walPut)
		b = binary.AppendUvarint(b, uint64(len(o.key)))
		b = append(b, o.key...)
		b = binary.AppendUvarint(b, uint64(len(o.value)))
		b = append(b, o.value...)
	}
	return b
}

var errCorruptWAL = errors.New("corrupt write-ahead record")

func decodeWAL(b []byte) ([]op, error) {
	if len(b) < len(walMagic) || string(b[:len(walMagic)]) != walMagic {
		return nil, errCorruptWAL
	}
	b = b[len(walMagic):]
	var ops []op
	field := func() ([]byte, bool) {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, false
		}
		f := b[w : w+int(n)]
		b = b[w+int(n):]
		return f, true
	}
	for len(b) > 0 {
		kind := b[0]
		b = b[1:]
		key, ok := field()
		if !ok || (kind != walPut && kind != walDel) {
			return nil, errCorruptWAL
		}
		o := op{key: string(key), del: kind == walDel}
		if !o.del {
			if o.value, ok = field(); !ok {
				return nil, errCorruptWAL
			}
		}
		ops = append(ops, o)
	}
	return ops, nil
}

// coalesce keeps the last op of each key, in their order.
func coalesce(ops []op) []op {
	last := make(map[string]int, len(ops))
	for i, o := range ops {
		last[o.key] = i
	}
	out := make([]op, 0, len(last))
	for i, o := range ops {
		if last[o.key] == i {
			out = append(out, o)
		}
	}
	return out
}

// hit asks the tests' failAt whether a write fails at the named point.
func (w *Workspace) hit(point string) error {
	if w.db.hooks.failAt == nil {
		return nil
	}
	return w.db.hooks.failAt(point)
}

// writeChunk stores ops crash-safely (see above) and applies them to the
// index. The caller holds w.mu and has applied nothing yet.
func (w *Workspace) writeChunk(ctx context.Context, ops []op) error {
	ops = coalesce(ops)
	w.countDeletes(ops)
	if err := w.fence(ctx, put(keyWAL, encodeWAL(ops))); err != nil {
		return fmt.Errorf("write-ahead record: %w", err)
	}
	if err := w.hit("wal"); err != nil {
		return err
	}
	half := len(ops)
	if w.db.hooks.failAt != nil {
		half /= 2
	}
	if err := w.write(ctx, ops[:half]); err != nil {
		return err
	}
	if err := w.hit("apply"); err != nil {
		return err
	}
	return w.write(ctx, ops[half:])
}

// writeOne writes one key, which needs no write-ahead record: but the
// record of the last write goes first, since replaying it now could undo
// this write, and that delete is the write's fence.
func (w *Workspace) writeOne(ctx context.Context, o op) error {
	if err := w.fence(ctx, del(keyWAL)); err != nil {
		return fmt.Errorf("write-ahead record: %w", err)
	}
	w.countDeletes([]op{o})
	return w.write(ctx, []op{o})
}

// full returns the ops with the workspace's prefix on their keys.
func (k keys) full(ops []op) []op {
	out := make([]op, len(ops))
	for i, o := range ops {
		o.key = k.prefix + o.key
		out[i] = o
	}
	return out
}
