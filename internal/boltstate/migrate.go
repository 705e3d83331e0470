package boltstate

import (
	"bytes"
	"fmt"

	"github.com/connect-sync/connect-sync/internal/state"

	bolt "go.etcd.io/bbolt"
)

// migrate brings a file of schema 1 or 2, which kept one workspace's
// buckets and run records at the root, to the current layout: they become
// the default workspace's. The buckets move whole, so the change records'
// sequence carries on where it was.
//
// They move before anything in this transaction writes to them: bbolt's
// MoveBucket loses what the transaction wrote to a bucket before moving it
// (etcd-io/bbolt#1239).
func migrate(tx *bolt.Tx, from int) error {
	all, err := tx.CreateBucketIfNotExists(bucketWorkspaces)
	if err != nil {
		return fmt.Errorf("state: migrate: %w", err)
	}
	ws, err := all.CreateBucket([]byte(state.DefaultWorkspace))
	if err != nil {
		return fmt.Errorf("state: migrate: %w", err)
	}
	for _, name := range workspaceBuckets {
		if tx.Bucket(name) == nil {
			continue // imports, in a file from before imports existed
		}
		if err := tx.MoveBucket(name, nil, ws); err != nil {
			return fmt.Errorf("state: migrate %s: %w", name, err)
		}
	}
	if err := moveRunRecords(tx.Bucket(bucketMeta), ws); err != nil {
		return err
	}
	if err := createWorkspace(tx, state.DefaultWorkspace); err != nil {
		return err
	}
	if from == 1 {
		return migrateEntries(ws.Bucket(bucketContacts))
	}
	return nil
}

// moveRunRecords moves the last run and last success from the root's meta
// to the workspace's.
func moveRunRecords(root, ws *bolt.Bucket) error {
	meta, err := ws.CreateBucket(bucketMeta)
	if err != nil {
		return fmt.Errorf("state: migrate: %w", err)
	}
	for _, key := range [][]byte{keyLastRun, keyLastSuccess} {
		v := root.Get(key)
		if v == nil {
			continue
		}
		if err := meta.Put(key, bytes.Clone(v)); err != nil {
			return fmt.Errorf("state: migrate %s: %w", key, err)
		}
		if err := root.Delete(key); err != nil {
			return fmt.Errorf("state: migrate %s: %w", key, err)
		}
	}
	return nil
}

// migrateEntries gives version 1 checkpoint entries an empty hash of the
// API's bytes: the next run compares those contacts by content and records
// the hash.
func migrateEntries(b *bolt.Bucket) error {
	var ids [][]byte
	err := b.ForEach(func(k, _ []byte) error {
		ids = append(ids, k)
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		e, err := unmarshalEntry(b.Get(id), 1)
		if err != nil {
			return fmt.Errorf("%w %s", err, id)
		}
		if err := b.Put(id, e.Encode()); err != nil {
			return fmt.Errorf("state: migrate checkpoint: %w", err)
		}
	}
	return nil
}
