package natsstate

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// lastSeq is the last sequence number of the bucket's stream: any write,
// a purge or a delete marker included, moves it.
func lastSeq(t *testing.T, js jetstream.JetStream, db *DB) uint64 {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, "KV_"+db.bucket)
	ok(t, err)
	info, err := s.Info(ctx)
	ok(t, err)
	return info.State.LastSeq
}

// statusJSON is a status as `connect-sync status --json` prints it.
func statusJSON(t *testing.T, st state.Status) string {
	t.Helper()
	b, err := json.MarshalIndent(st, "", "  ")
	ok(t, err)
	return string(b)
}

// TestDBStatus reads a workspace's status as `connect-sync status` does,
// beside the instance that holds it: the same status the Workspace gives,
// without writing a thing, not even the replay of a write-ahead record a
// failed write left.
func TestDBStatus(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	ctx := context.Background()
	w := openWorkspace(t, db, "acme")
	crashSetup(t, w) // two sinks, queues, dead letters, a memo, a disabled sink
	ok(t, w.RecordRun(ctx, state.Run{StartedAt: at, FinishedAt: at.Add(2), Result: state.RunSucceeded}))
	ok(t, w.RecordRun(ctx, state.Run{StartedAt: at.Add(3), FinishedAt: at.Add(4), Result: state.RunFailed, Error: "api down"}))

	want, err := w.Status(ctx)
	ok(t, err)
	if want.Contacts == 0 || len(want.Sinks) != 2 || want.Sinks[0].DeadLetters == 0 || want.Sinks[0].Pending == 0 ||
		want.Sinks[1].Pending == 0 || want.LastRun == nil || want.LastSuccessAt == nil || want.Sinks[0].Disabled == "" {
		t.Fatalf("the setup is too thin to compare:\n%s", statusJSON(t, want))
	}
	before := lastSeq(t, js, db)
	got, err := db.Status(ctx, "acme")
	ok(t, err)
	if g, w := statusJSON(t, got), statusJSON(t, want); g != w {
		t.Errorf("DB.Status:\n%s\nWorkspace.Status:\n%s", g, w)
	}
	if after := lastSeq(t, js, db); after != before {
		t.Errorf("DB.Status wrote %d messages", after-before)
	}

	// A write that failed after its write-ahead record and half of its
	// keys: the record waits for the holder to open the workspace again.
	failAtHit(t, db, "apply", 1)
	err = w.Commit(ctx, []state.Detected{detected("4", contact.Created, "z"), detected("1", contact.Updated, "zz"), detected("2", contact.Deleted, "")})
	db.hooks.failAt = nil
	if err == nil {
		t.Fatal("the injected failure did not happen")
	}
	wal, err := db.wire.get(ctx, []string{"acme." + keyWAL})
	ok(t, err)
	if wal[0] == nil {
		t.Fatal("no write-ahead record after the failed write")
	}
	before = lastSeq(t, js, db)
	for range 3 {
		if _, err := db.Status(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	}
	if after := lastSeq(t, js, db); after != before {
		t.Errorf("DB.Status with a write-ahead record present wrote %d messages", after-before)
	}
	if wal, err := db.wire.get(ctx, []string{"acme." + keyWAL}); err != nil || wal[0] == nil {
		t.Errorf("DB.Status removed the write-ahead record (%v)", err)
	}
	// Opening the workspace, as its holder does, replays it: a write.
	reopened := openWorkspace(t, db, "acme")
	if lastSeq(t, js, db) == before {
		t.Error("opening the workspace wrote nothing: was there a record to replay?")
	}
	want, err = reopened.Status(ctx)
	ok(t, err)
	got, err = db.Status(ctx, "acme")
	ok(t, err)
	if g, w := statusJSON(t, got), statusJSON(t, want); g != w {
		t.Errorf("after the replay, DB.Status:\n%s\nWorkspace.Status:\n%s", g, w)
	}

	// A workspace nobody has synced yet.
	before = lastSeq(t, js, db)
	got, err = db.Status(ctx, "nobody")
	ok(t, err)
	if g, w := statusJSON(t, got), statusJSON(t, state.Status{Workspace: "nobody"}); g != w {
		t.Errorf("status of an unknown workspace:\n%s\nwant\n%s", g, w)
	}
	if after := lastSeq(t, js, db); after != before {
		t.Errorf("DB.Status of an unknown workspace wrote %d messages", after-before)
	}
	if _, err := db.Status(ctx, "no.dots"); err == nil {
		t.Error("DB.Status took an invalid workspace name")
	}
}

// TestDBStatusCannotWrite: the Workspace DB.Status reads through refuses
// every write, a load included, so that a status can never take the
// workspace from its holder (see fence.go); the holder goes on writing
// after one.
func TestDBStatusCannotWrite(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	ctx := context.Background()
	holder := openWorkspace(t, db, "acme")
	crashSetup(t, holder)
	before := lastSeq(t, js, db)
	for _, tt := range writes {
		r, err := db.reader(ctx, "acme")
		ok(t, err)
		if err := tt.op(t.Context(), r); !errors.Is(err, errReadOnly) {
			t.Errorf("%s: %v, want it refused", tt.name, err)
		}
	}
	r, err := db.reader(ctx, "acme")
	ok(t, err)
	r.broken = true // as after a failed write: the next operation loads
	if _, err := r.Checkpoint(ctx); !errors.Is(err, errReadOnly) {
		t.Errorf("a load: %v, want it refused", err)
	}
	if _, err := db.Status(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if after := lastSeq(t, js, db); after != before {
		t.Errorf("%d messages written", after-before)
	}
	ok(t, holder.RecordRun(ctx, state.Run{FinishedAt: at, Result: state.RunSucceeded}))
}

// TestReadOnlyDBCreatesNothing: opened ReadOnly, a missing bucket is not
// created, and an existing one is read, never written.
func TestReadOnlyDBCreatesNothing(t *testing.T) {
	_, js := newServer(t)
	ctx := context.Background()
	bucket := newBucket()
	if _, err := Open(ctx, js, Options{Bucket: bucket, ReadOnly: true}); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatalf("err = %v, want jetstream.ErrBucketNotFound", err)
	}
	if _, err := js.KeyValue(ctx, bucket); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatalf("the bucket was created: %v", err)
	}
	db := openDB(t, js, Options{Bucket: bucket})
	crashSetup(t, openWorkspace(t, db, "acme"))
	ro, err := Open(ctx, js, Options{Bucket: bucket, ReadOnly: true})
	ok(t, err)
	if _, err := ro.Workspace(ctx, ctx, "acme"); err == nil {
		t.Error("a read-only DB opened a Workspace")
	}
	st, err := ro.Status(ctx, "acme")
	ok(t, err)
	if st.Contacts == 0 {
		t.Errorf("status %+v", st)
	}
}
