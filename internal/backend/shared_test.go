package backend

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/lease"
	"github.com/connect-sync/connect-sync/internal/natsconn"
	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/state"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// settings are the state.nats settings of instance on the server at url.
func settings(url, instance string) config.StateNATS {
	return config.StateNATS{
		Config:       natsconn.Config{URLs: []string{url}, Timeout: 5 * time.Second},
		Replicas:     1,
		BucketPrefix: "test",
		LeaseTTL:     3 * time.Second,
		Instance:     instance,
	}
}

// openShared opens the shared state for instance and runs its leases of
// workspaces until the test ends or stop is called, which gives them back.
func openShared(t *testing.T, url, instance string, workspaces ...string) (b *Shared, stop func()) {
	t.Helper()
	b, err := OpenShared(t.Context(), settings(url, instance), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Leases().SetWorkspaces(workspaces); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Leases().Run(ctx) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	return b, stop
}

// held waits until the instance holds the workspace's lease and returns
// its state.
func held(t *testing.T, b *Shared, workspace string) state.Store {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := b.Workspace(t.Context(), workspace)
		if err == nil {
			return st
		}
		if !errors.Is(err, ErrNotHeld) || time.Now().After(deadline) {
			t.Fatalf("the lease of %s: %v", workspace, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A workspace's state is the instance's while it holds the lease: loaded
// once under it, read from memory for status, and read by others without
// writing.
func TestSharedWorkspaceUnderItsLease(t *testing.T) {
	srv := natstest.Start(t)
	b, _ := openShared(t, srv.URL, "i1", "acme")
	if _, err := b.Redeliver(t.Context(), "other", "sink", ""); !errors.Is(err, ErrNotHeld) {
		t.Errorf("redeliver to a workspace not held: %v, want ErrNotHeld", err)
	}
	st := held(t, b, "acme")
	if again := held(t, b, "acme"); again != st {
		t.Error("the workspace was loaded again under the same lease")
	}
	run := state.Run{StartedAt: time.Now(), FinishedAt: time.Now(), Result: state.RunSucceeded}
	if err := st.RecordRun(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Status(t.Context(), "acme"); err != nil || got.LastRun == nil {
		t.Errorf("status %+v, %v; want the run", got, err)
	}
	if _, err := b.Redeliver(t.Context(), "acme", "no-such-sink", ""); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("redeliver to an unknown sink: %v, want state.ErrNotFound", err)
	}
	statuses, holders, err := SharedStatus(t.Context(), settings(srv.URL, ""), []string{"acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 1 || statuses[0].LastRun == nil {
		t.Errorf("statuses %+v, want acme's run", statuses)
	}
	if len(holders) != 1 || holders[0].Workspace != "acme" || holders[0].Instance != "i1" {
		t.Errorf("holders %+v, want acme held by i1", holders)
	}
}

// TestSharedStateWritesEndWithTheLease: a run keeps the state it got at
// its start, and the engine checks its context only around fetches and
// deliveries; once the lease that state was loaded under has ended (lost,
// given back), another instance may hold the workspace, so the state must
// refuse every write, whatever context it is given, rather than the engine
// go on committing and recording its run.
func TestSharedStateWritesEndWithTheLease(t *testing.T) {
	srv := natstest.Start(t)
	b, stop := openShared(t, srv.URL, "i1", "ws0")
	st := held(t, b, "ws0")
	ctx := context.Background() // not the lease's
	run := state.Run{StartedAt: time.Now(), FinishedAt: time.Now(), Result: state.RunSucceeded}
	if err := st.RecordRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := st.RegisterSink(ctx, "spreadsheet", state.SinkInfo{Type: "csv"}); err != nil {
		t.Fatal(err)
	}

	stop() // gives the lease back
	js := natstest.Connect(t, srv.URL)
	stream, err := js.Stream(ctx, "KV_"+settings(srv.URL, "").StateBucket())
	if err != nil {
		t.Fatal(err)
	}
	lastSeq := func() uint64 {
		t.Helper()
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	before := lastSeq()
	c, err := contact.Parse([]byte(`{"id":"1","email":"a@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	writes := map[string]func() error{
		"commit": func() error {
			return st.Commit(ctx, []state.Detected{{Change: contact.Change{ID: "msg_1", Kind: contact.Created, Contact: c}, Entry: &state.Entry{}}})
		},
		"record run": func() error { return st.RecordRun(ctx, run) },
		"update sink": func() error {
			return st.UpdateSink(ctx, "spreadsheet", func(i *state.SinkInfo) { i.LastError = "late" })
		},
		"memo": func() error { return st.Memo("spreadsheet").Put(ctx, "1", []byte("x")) },
	}
	for name, write := range writes {
		if err := write(); err == nil {
			t.Errorf("%s after the lease ended: no error", name)
		}
	}
	if after := lastSeq(); after != before {
		t.Errorf("%d writes to the state after the lease ended", after-before)
	}
	if _, err := b.Workspace(ctx, "ws0"); !errors.Is(err, ErrNotHeld) {
		t.Errorf("the workspace after the lease ended: %v, want ErrNotHeld", err)
	}
}

// Loading a workspace's state runs under the caller's context too, not
// only the lease's: a run cancelled at shutdown does not wait for a load.
func TestSharedLoadEndsWithItsContext(t *testing.T) {
	srv := natstest.Start(t)
	b, _ := openShared(t, srv.URL, "i1", "acme")
	deadline := time.Now().Add(time.Minute)
	for !slices.ContainsFunc(b.Leases().Leases(), func(l lease.Lease) bool { return l.Workspace == "acme" }) {
		if time.Now().After(deadline) {
			t.Fatal("the lease of acme was not taken")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Workspace(ctx, "acme"); !errors.Is(err, context.Canceled) {
		t.Errorf("a load under an ended context: %v, want context.Canceled", err)
	}
	if _, err := b.Workspace(t.Context(), "acme"); err != nil {
		t.Errorf("a load afterwards: %v", err)
	}
}
