// Package boltstate keeps connect-sync's state (state.Store) in one bbolt
// file: for every Connect workspace, what each of its contacts looked like
// at the last run, and for each of its sinks the queue of changes the sink
// has not yet acknowledged. Workspaces share the file and nothing else.
//
// Layout (all keys and values are bytes):
//
//	meta        schema → "3"
//	workspaces  workspace name → bucket {
//	    meta       last_run → JSON Run, last_success → JSON time
//	    contacts   contact id → Entry (16-byte content hash, 16-byte hash of
//	               the API's bytes, then lastActivityAt)
//	    snapshots  contact id → the contact's JSON as last seen (leadStatus enriched)
//	    changes    sequence (8-byte big endian) → JSON record of one change
//	    sinks      sink name → bucket {info → JSON SinkInfo, queue: sequence → 1,
//	                                   dead: sequence → JSON reason, memo: contact id → bytes}
//	    imports    record fingerprint → JSON Import (`connect-sync import`)
//	}
//
// A change record is stored once and referenced from the queue (or the
// dead letters) of every sink of its workspace that still has to deliver
// it; it is removed with its last reference.
package boltstate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/connect-sync/connect-sync/internal/state"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout this code reads and writes. Versions 1 and 2
// kept the buckets of a single workspace at the root, and version 1 had no
// hash of the API's bytes in checkpoint entries; opening such a file for
// writing migrates it.
const SchemaVersion = 3

var (
	bucketMeta       = []byte("meta")
	bucketWorkspaces = []byte("workspaces")
	bucketContacts   = []byte("contacts")
	bucketSnapshots  = []byte("snapshots")
	bucketChanges    = []byte("changes")
	bucketSinks      = []byte("sinks")

	keySchema      = []byte("schema")
	keyLastRun     = []byte("last_run")
	keyLastSuccess = []byte("last_success")
	keyInfo        = []byte("info")
	keyQueue       = []byte("queue")
	keyDead        = []byte("dead")
	keyMemo        = []byte("memo")
)

// ErrLocked means another process has the state file open.
var ErrLocked = errors.New("another connect-sync process holds the state file")

// DB is an open state file.
type DB struct {
	bolt *bolt.DB
	path string
	// schema is the file's version as opened read-only, SchemaVersion
	// otherwise: it tells where a workspace's buckets are and how its
	// checkpoint entries are laid out.
	schema int
}

// Open opens or creates the state file at path, mode 0600; an existing file
// that others may read or write is made 0600 too. It fails at once with
// ErrLocked when another process holds the file, and refuses a file
// written by a newer, unknown schema.
func Open(path string) (*DB, error) {
	return open(path, false)
}

// OpenReadOnly opens an existing state file without changing a byte of it
// (for dry runs and status), nor its mode: the next Open fixes that. A
// missing file is os.ErrNotExist.
func OpenReadOnly(path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return open(path, true)
}

func open(path string, readOnly bool) (*DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 100 * time.Millisecond, ReadOnly: readOnly})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("state: %w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path}
	if readOnly {
		err = b.View(db.checkSchema)
	} else if err = ownerOnly(path); err == nil {
		err = b.Update(db.initialise)
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

// ownerOnly makes the state file its owner's alone, as it is created: a
// copy restored with a looser mode (a cp under umask 022) would let every
// user read the contacts it holds.
func ownerOnly(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if info.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("state: %s has mode %v, open to other users, and connect-sync cannot make it 0600 (%w): "+
			"run chmod 600 %s as its owner", path, info.Mode().Perm(), err, path)
	}
	return nil
}

// Close closes the file and releases its lock.
func (db *DB) Close() error {
	return db.bolt.Close()
}

func (db *DB) initialise(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if meta.Get(keySchema) != nil {
		if err := db.checkSchema(tx); err != nil {
			return err
		}
		if db.schema == SchemaVersion {
			return nil
		}
		if err := migrate(tx, db.schema); err != nil {
			return err
		}
	}
	if _, err := tx.CreateBucketIfNotExists(bucketWorkspaces); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	db.schema = SchemaVersion
	return meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
}

func (db *DB) checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("state: %s is not a connect-sync state file", db.path)
	}
	v, err := strconv.Atoi(string(meta.Get(keySchema)))
	if err != nil {
		return fmt.Errorf("state: %s has no valid schema version", db.path)
	}
	if v < 1 {
		return fmt.Errorf("state: %s has no valid schema version", db.path)
	}
	if v > SchemaVersion {
		return fmt.Errorf("state: %s has schema version %d, newer than the %d this connect-sync knows: upgrade connect-sync", db.path, v, SchemaVersion)
	}
	db.schema = v
	return nil
}

// unmarshalEntry reads an entry in the layout of the given schema
// version. Schema 1's had no hash of the API's bytes: one hash, then
// lastActivityAt.
func unmarshalEntry(b []byte, schema int) (state.Entry, error) {
	if schema > 1 {
		return state.DecodeEntry(b)
	}
	const hashSize = 16
	if len(b) < hashSize {
		return state.Entry{}, errors.New("state: corrupt checkpoint entry")
	}
	return state.Entry{Hash: [16]byte(b), LastActivityAt: string(b[hashSize:])}, nil
}

// Checkpoint returns every tracked contact's entry.
func (w *Workspace) Checkpoint(_ context.Context) (map[string]state.Entry, error) {
	entries := make(map[string]state.Entry)
	err := w.view(func(s space) error {
		return s.Bucket(bucketContacts).ForEach(func(k, v []byte) error {
			e, err := unmarshalEntry(v, w.db.schema)
			if err != nil {
				return err
			}
			entries[string(k)] = e
			return nil
		})
	})
	return entries, err
}

// IDs returns every tracked contact's id, in the bucket's order, which is
// sorted: no entry is decoded.
func (w *Workspace) IDs(context.Context) ([]string, error) {
	var ids []string
	err := w.view(func(s space) error {
		b := s.Bucket(bucketContacts)
		ids = make([]string, 0, b.Stats().KeyN)
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			ids = append(ids, string(k))
		}
		return nil
	})
	return ids, err
}

// Snapshots returns the stored snapshots of the given contacts; ids without
// one are absent from the result.
func (w *Workspace) Snapshots(_ context.Context, ids []string) (map[string]json.RawMessage, error) {
	snaps := make(map[string]json.RawMessage, len(ids))
	err := w.view(func(s space) error {
		b := s.Bucket(bucketSnapshots)
		for _, id := range ids {
			if v := b.Get([]byte(id)); v != nil {
				snaps[id] = append(json.RawMessage(nil), v...)
			}
		}
		return nil
	})
	return snaps, err
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("state: decode %s: %w", key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("state: encode %s: %w", key, err)
	}
	return b.Put(key, data)
}
