package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	natsclient "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/backoff"
	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/lease"
	"github.com/connect-sync/connect-sync/internal/natsconn"
	"github.com/connect-sync/connect-sync/internal/natsstate"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Shared is the state in JetStream, shared with other instances: a
// workspace's state is this instance's to write while it holds the
// workspace's lease, and is loaded afresh under each new lease, since
// another instance may have written it in between.
type Shared struct {
	conn    *natsclient.Conn
	db      *natsstate.DB
	leases  *lease.Manager
	timeout time.Duration // of a status read
	// redact removes the credentials of state.nats from every error
	// returned, which may quote the servers (redact.go).
	redact *secret.Redactor

	mu     sync.Mutex
	opened map[string]*leased // by workspace
}

// ErrNotHeld means another instance holds the workspace, or nobody does.
var ErrNotHeld = errors.New("this instance does not hold the workspace's lease")

// leased is a workspace's state as loaded under one lease. Its mutex
// serialises the loading, so that loading one workspace holds up no other.
type leased struct {
	mu    sync.Mutex
	lease context.Context
	ws    *redactedStore
}

// OpenShared connects to the state's JetStream and opens its state and
// lease buckets, creating them when missing. The connection reconnects for
// as long as the process lives: a cluster restarting must not end the
// service. The errors of the Shared, of the states it hands out, and
// those the leases log are redacted of state.nats's credentials.
func OpenShared(ctx context.Context, s config.StateNATS, logger *slog.Logger) (*Shared, error) {
	o, redact, err := options(s)
	if err != nil {
		return nil, err
	}
	// Writes that failed while disconnected must not go out once
	// reconnected, when another instance may hold the workspace: no
	// reconnect buffer.
	nc, js, err := dial(ctx, o, redact, natsclient.MaxReconnects(-1), natsclient.ReconnectBufSize(-1))
	if err != nil {
		return nil, err
	}
	instance := s.Instance
	if instance == "" {
		instance = lease.NewInstanceID()
	}
	b := &Shared{conn: nc, opened: map[string]*leased{}, timeout: s.Timeout, redact: redact}
	// A cluster that has just started may not place a new bucket yet.
	err = retry(ctx, s.Timeout, func() error {
		var err error
		if b.leases == nil {
			b.leases, err = lease.Open(ctx, js, lease.Options{
				Bucket: s.LeaseBucket(), Replicas: s.Replicas, Instance: instance, TTL: s.LeaseTTL,
				Logger: redactedLogger(logger, redact),
			})
		}
		if err == nil {
			// An operation in flight when a lease ends must end within the
			// lease's margin (TTL/4) too: of the TTL in force, the bucket's.
			opTimeout := min(s.Timeout, b.leases.TTL()/4)
			b.db, err = natsstate.Open(ctx, js, natsstate.Options{Bucket: s.StateBucket(), Replicas: s.Replicas, Timeout: opTimeout})
		}
		return err
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("state.nats: %w", redact.Error(err))
	}
	return b, nil
}

// Leases is the manager of this instance's leases, which the service runs.
func (b *Shared) Leases() *lease.Manager { return b.leases }

// Workspace returns the workspace's state as loaded under the lease this
// instance holds, loading it under ctx if it was not yet; ErrNotHeld when
// it holds none.
func (b *Shared) Workspace(ctx context.Context, name string) (state.Store, error) {
	var current context.Context
	for _, l := range b.leases.Leases() {
		if l.Workspace == name && !l.Releasing {
			current = l.Ctx
		}
	}
	ws, err := b.load(ctx, name, current)
	if err != nil {
		return nil, err // not a nil *redactedStore in the interface
	}
	return ws, nil
}

// load returns the workspace's state as loaded under its current lease,
// loading it under ctx if it was loaded under an earlier one, or not yet.
func (b *Shared) load(ctx context.Context, name string, current context.Context) (*redactedStore, error) {
	if current == nil || current.Err() != nil {
		return nil, fmt.Errorf("workspace %s: %w", name, ErrNotHeld)
	}
	b.mu.Lock()
	o := b.opened[name]
	if o == nil {
		o = &leased{}
		b.opened[name] = o
	}
	b.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lease != current {
		ws, err := b.db.Workspace(ctx, current, name)
		if err != nil {
			return nil, b.redact.Error(err)
		}
		o.lease, o.ws = current, &redactedStore{st: ws, redact: b.redact}
		// The index goes with the lease: another instance may write the
		// workspace once this one has let it go.
		context.AfterFunc(current, func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			if o.lease == current {
				o.lease, o.ws = nil, nil
			}
		})
	}
	return o.ws, nil
}

// Status reads a workspace's state without writing it, whoever holds it:
// from memory when this instance has it loaded under its lease (after
// every run, for the gauges: not the whole index read again from the
// bucket), else from the bucket.
func (b *Shared) Status(ctx context.Context, name string) (state.Status, error) {
	b.mu.Lock()
	o := b.opened[name]
	b.mu.Unlock()
	if o != nil && o.mu.TryLock() { // not while it loads
		ws, lease := o.ws, o.lease
		o.mu.Unlock()
		if ws != nil && lease.Err() == nil {
			return ws.Status(ctx)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	st, err := b.db.Status(ctx, name)
	return st, b.redact.Error(err)
}

// Redeliver writes a held workspace's state as a run does: within its
// lease, which is not given back meanwhile.
func (b *Shared) Redeliver(ctx context.Context, workspace, sink, event string) (int, error) {
	current, ok := b.leases.Busy(workspace)
	if !ok {
		return 0, fmt.Errorf("workspace %s: %w", workspace, ErrNotHeld)
	}
	defer b.leases.Idle(workspace)
	ws, err := b.load(ctx, workspace, current)
	if err != nil {
		return 0, err
	}
	return ws.Redeliver(ctx, sink, event)
}

// Close closes the connection. The leases are the service's to give back
// first (lease.Manager.Run ends by giving them back).
func (b *Shared) Close() error {
	b.conn.Close()
	return nil
}

// SharedStatus reads the workspaces' state and who holds their leases from
// JetStream, creating and writing nothing: the instances holding them may
// be writing meanwhile. Its errors are redacted of state.nats's
// credentials.
func SharedStatus(ctx context.Context, s config.StateNATS, names []string) ([]state.Status, []lease.Holder, error) {
	o, redact, err := options(s)
	if err != nil {
		return nil, nil, err
	}
	nc, js, err := dial(ctx, o, redact)
	if err != nil {
		return nil, nil, err
	}
	defer nc.Close()
	holders, err := lease.Holders(ctx, js, s.LeaseBucket())
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil, fmt.Errorf("state.nats: %w", redact.Error(err))
	}
	// A missing bucket is a bucket_prefix no instance has used.
	db, err := natsstate.Open(ctx, js, natsstate.Options{Bucket: s.StateBucket(), Timeout: s.Timeout, ReadOnly: true})
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil, fmt.Errorf("state.nats: bucket %s: %w (has any instance run with this bucket_prefix?)", s.StateBucket(), err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("state.nats: %w", redact.Error(err))
	}
	defer db.Close()
	var statuses []state.Status
	for _, name := range names {
		st, err := db.Status(ctx, name)
		if err != nil {
			return nil, nil, redact.Error(err)
		}
		statuses = append(statuses, st)
	}
	return statuses, holders, nil
}

// options reads the state backend's connection settings, and makes the
// redactor of the credentials they send.
func options(s config.StateNATS) (*natsconn.Options, *secret.Redactor, error) {
	o, err := s.Options("connect-sync state")
	if err != nil {
		return nil, nil, fmt.Errorf("state.nats: %w", err)
	}
	return o, secret.NewRedactor(o.Secrets...), nil
}

// dial connects to the state backend's servers. What they say in the
// error (an -ERR) is redacted.
func dial(ctx context.Context, o *natsconn.Options, redact *secret.Redactor, extra ...natsclient.Option) (*natsclient.Conn, jetstream.JetStream, error) {
	o.Client = append(o.Client, extra...)
	nc, err := natsconn.Dial(ctx, o)
	if err != nil {
		return nil, nil, fmt.Errorf("state.nats: connect to %s: %w", o.Servers, redact.Error(err))
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("state.nats: %w", err)
	}
	return nc, js, nil
}

// retry calls fn until it succeeds, ctx ends or timeout passes, a second
// apart.
func retry(ctx context.Context, timeout time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		if backoff.Sleep(ctx, time.Second) != nil {
			return err
		}
	}
}
