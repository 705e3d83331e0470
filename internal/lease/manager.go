package lease

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults for Options.
const (
	DefaultBucket       = "connect_sync_leases"
	DefaultTTL          = 15 * time.Second
	DefaultDrainTimeout = time.Minute
)

// minTTL keeps the tick, TTL/3, well above a request's round trip.
const minTTL = time.Second

// Options configure a Manager.
type Options struct {
	// Bucket is the key-value bucket's name, DefaultBucket if empty.
	Bucket string
	// Replicas is a new bucket's number of replicas, 1 if 0; a bucket that
	// exists keeps its own.
	Replicas int
	// Instance is this instance's id, unique among the live instances (a
	// second process with the same id takes no workspace while the first
	// lives); see NewInstanceID.
	Instance string
	// TTL is a new bucket's TTL, DefaultTTL if 0. A bucket that exists
	// keeps its own, and it is the one that counts: an instance that
	// counted on a longer TTL than the bucket's could hold a lease the
	// bucket already dropped.
	TTL time.Duration
	// Tick is how often the heartbeat and leases are written and the split
	// reconsidered: TTL/3 if 0. It may be at most (TTL-TTL/4)/2, so that a
	// lease gets two tries at renewal before its deadline.
	Tick time.Duration
	// DrainTimeout bounds how long a stopping Run waits for busy
	// workspaces to become idle, DefaultDrainTimeout if 0. A lease still
	// busy then is dropped without being given back: its context ends, and
	// its key expires a TTL later.
	DrainTimeout time.Duration
	Logger       *slog.Logger
}

// Manager takes, renews and gives back the leases of one instance; Run
// does the work. Its methods are safe for concurrent use. The user starts
// a workspace's runs when Changed signals a new lease in Leases (or on its
// own schedule), each run between Busy and Idle:
//
//	ctx, ok := m.Busy(name)
//	if !ok {
//		return // not held here, or being given back
//	}
//	defer m.Idle(name)
//	sync(ctx, name) // must stop writing, within TTL/4, once ctx ends
type Manager struct {
	b                                   *bucket
	id, session, host                   string
	pid                                 int
	started                             time.Time
	ttl, tick, margin, opTimeout, drain time.Duration
	log                                 *slog.Logger
	kick                                chan struct{} // wakes the loop: workspaces set, a workspace idle
	changed                             chan struct{}
	running                             atomic.Bool

	// The loop's own.
	instRev uint64 // the heartbeat's revision, 0 without one
	clash   bool   // another process holds this instance's heartbeat
	failing bool   // the last pass met an error, logged once

	mu         sync.Mutex
	problem    error // why the last pass failed, for Err
	workspaces map[string]bool
	held       map[string]*lease
	busy       map[string]int // runs in progress, by workspace
	stopping   bool
}

// Open opens the bucket, creating it if it does not exist, and returns a
// Manager for one instance. It holds nothing until Run.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*Manager, error) {
	if !ValidName(opts.Instance) {
		return nil, fmt.Errorf("lease: instance id %q: want 1 to 64 letters, digits, '_' or '-'", opts.Instance)
	}
	name := cmp.Or(opts.Bucket, DefaultBucket)
	ttl := cmp.Or(opts.TTL, DefaultTTL)
	if ttl < minTTL {
		return nil, fmt.Errorf("lease: ttl %v is under %v", ttl, minTTL)
	}
	log := cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)).With("instance", opts.Instance)
	b, err := openBucket(ctx, js, name, ttl, cmp.Or(opts.Replicas, 1))
	if err != nil {
		return nil, err
	}
	if bt := b.ttl(); bt != ttl {
		if bt < minTTL {
			return nil, fmt.Errorf("lease: bucket %s has a ttl of %v: want %v or more", name, bt, minTTL)
		}
		log.Warn("lease: the bucket's ttl differs from the configured one: using the bucket's", "bucket", name, "bucket_ttl", bt, "ttl", ttl)
		ttl = bt
	}
	margin := ttl / 4
	tick := cmp.Or(opts.Tick, ttl/3)
	if tick <= 0 || tick > (ttl-margin)/2 {
		return nil, fmt.Errorf("lease: tick %v: want at most %v for a ttl of %v", tick, (ttl-margin)/2, ttl)
	}
	host, _ := os.Hostname()
	return &Manager{
		b: b, id: opts.Instance, session: randomHex(8), host: host, pid: os.Getpid(), started: time.Now(),
		ttl: ttl, tick: tick, margin: margin, opTimeout: tick / 2, drain: cmp.Or(opts.DrainTimeout, DefaultDrainTimeout),
		log: log, kick: make(chan struct{}, 1), changed: make(chan struct{}, 1),
		workspaces: map[string]bool{}, held: map[string]*lease{}, busy: map[string]int{},
	}, nil
}

// Instance returns this instance's id.
func (m *Manager) Instance() string { return m.id }

// TTL returns the lease TTL in force, the bucket's.
func (m *Manager) TTL() time.Duration { return m.ttl }

// SetWorkspaces sets the workspaces to share out, at start or on a config
// reload: a held workspace no longer among them is given back once idle.
func (m *Manager) SetWorkspaces(names []string) error {
	set := map[string]bool{}
	for _, n := range names {
		if !ValidName(n) {
			return fmt.Errorf("lease: workspace name %q: want 1 to 64 letters, digits, '_' or '-'", n)
		}
		set[n] = true
	}
	m.mu.Lock()
	m.workspaces = set
	m.mu.Unlock()
	m.wake()
	return nil
}

// Run takes, renews and gives back leases until ctx ends, then gives back
// every lease (waiting up to Options.DrainTimeout for busy ones to become
// idle) and removes the heartbeat, so that other instances take over at
// once rather than a TTL later. Every lease's context has ended when it
// returns. Errors talking to the bucket are logged and retried each tick.
func (m *Manager) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("lease: Run called twice")
	}
	// The bucket's requests outlive ctx, each within its own timeout, so
	// that a pass under way completes and the leases can be given back.
	ops := context.WithoutCancel(ctx)
	t := time.NewTicker(m.tick)
	defer t.Stop()
	for ctx.Err() == nil {
		m.pass(ops)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-m.kick:
		}
	}
	m.stop(ops)
	return nil
}

// pass is one tick's work: heartbeat, renewals, then the split.
func (m *Manager) pass(ctx context.Context) {
	err := m.heartbeat(ctx)
	err = cmp.Or(m.renewAll(ctx), err)
	c, cancel := context.WithTimeout(ctx, m.opTimeout)
	v, lerr := m.b.list(c)
	cancel()
	err = cmp.Or(lerr, err)
	err = cmp.Or(m.rebalance(ctx, v), err)
	switch {
	case err != nil && !m.failing:
		m.log.Warn("lease: bucket request failed: leases held are kept until their deadline; retrying each tick", "err", err)
	case err != nil:
		m.log.Debug("lease: bucket request failed", "err", err)
	case m.failing:
		m.log.Info("lease: bucket requests succeed again")
	}
	m.failing = err != nil
	if m.clash {
		err = errors.Join(err, errors.New("another live process uses this instance id"))
	}
	m.mu.Lock()
	m.problem = err
	m.mu.Unlock()
}

// Err returns why this instance could not take or renew leases in its
// last pass over the bucket, or nil: it then keeps what it holds only
// until the leases' deadlines, and takes nothing new.
func (m *Manager) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.problem
}

// heartbeat writes this instance's key, creating it if it has none.
func (m *Manager) heartbeat(ctx context.Context) error {
	key := instancePrefix + m.id
	rec := instanceRecord{ID: m.id, Session: m.session, Host: m.host, PID: m.pid, StartedAt: m.started}
	if m.instRev != 0 {
		rev, err := m.write(ctx, key, rec, m.instRev)
		if err == nil {
			m.instRev = rev
			return nil
		}
		if !conflict(err) {
			return fmt.Errorf("lease: heartbeat: %w", err)
		}
		m.instRev = 0 // expired while cut off, or another process's now
	}
	rev, err := m.write(ctx, key, rec, 0)
	if conflict(err) {
		rev, _, err = m.adopt(ctx, key, rec)
	}
	switch {
	case errors.Is(err, errTaken):
		if !m.clash {
			m.log.Error("lease: another live process uses this instance id: taking no workspace while it lives")
		}
		m.clash = true
		return nil
	case err != nil:
		return fmt.Errorf("lease: heartbeat: %w", err)
	}
	if m.clash {
		m.log.Info("lease: the instance id is free again")
	}
	m.instRev, m.clash = rev, false
	return nil
}

// errTaken says a key's last value is another process's.
var errTaken = errors.New("held by another process")

// adopt writes value to key if the key's last value carries this process's
// session: a write whose answer was lost may have landed. It fails with
// errTaken if the key is another's or gone.
func (m *Manager) adopt(ctx context.Context, key string, value any) (uint64, time.Time, error) {
	c, cancel := context.WithTimeout(ctx, m.opTimeout)
	session, rev, err := m.b.session(c, key)
	cancel()
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound) || err == nil && session != m.session:
		return 0, time.Time{}, errTaken
	case err != nil:
		return 0, time.Time{}, err
	}
	sent := time.Now()
	rev, err = m.write(ctx, key, value, rev)
	if conflict(err) {
		err = errTaken
	}
	return rev, sent, err
}

// write is bucket.write within the request timeout.
func (m *Manager) write(ctx context.Context, key string, value any, expect uint64) (uint64, error) {
	c, cancel := context.WithTimeout(ctx, m.opTimeout)
	defer cancel()
	return m.b.write(c, key, value, expect)
}

// purge is bucket.purge within the request timeout.
func (m *Manager) purge(ctx context.Context, key string, rev uint64) error {
	c, cancel := context.WithTimeout(ctx, m.opTimeout)
	defer cancel()
	return m.b.purge(c, key, rev)
}

// stop gives every lease back as it becomes idle, within the drain
// timeout, renewing them meanwhile.
func (m *Manager) stop(ctx context.Context) {
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	if m.instRev != 0 { // others count this instance out at once
		if err := m.purge(ctx, instancePrefix+m.id, m.instRev); err != nil {
			m.log.Warn("lease: cannot remove the heartbeat: it expires a TTL later", "err", err)
		}
		m.instRev = 0
	}
	drain := time.NewTimer(m.drain)
	defer drain.Stop()
	t := time.NewTicker(m.tick)
	defer t.Stop()
	for {
		if err := m.rebalance(ctx, nil); err != nil {
			m.log.Warn("lease: cannot give a lease back: it expires a TTL later", "err", err)
		}
		if m.count() == 0 {
			return
		}
		select {
		case <-drain.C:
			m.dropAll()
			return
		case <-t.C:
			if err := m.renewAll(ctx); err != nil {
				m.log.Warn("lease: renewal failed while stopping", "err", err)
			}
		case <-m.kick:
		}
	}
}

func (m *Manager) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.held)
}

// dropAll ends the leases still busy at the end of the drain timeout.
func (m *Manager) dropAll() {
	m.mu.Lock()
	var names []string
	for _, l := range m.held {
		m.endLocked(l)
		names = append(names, l.workspace)
	}
	m.mu.Unlock()
	slices.Sort(names)
	m.log.Warn("lease: workspaces still busy after the drain timeout: dropped without giving them back; they expire a TTL later",
		"workspaces", strings.Join(names, ","))
	m.notify()
}

// Busy marks a run of workspace as started and returns the context the run
// must use, which ends when the lease does. It returns false, and marks
// nothing, if this instance does not hold the workspace or is giving it
// back: the run must not start. Every true must be followed by Idle.
func (m *Manager) Busy(workspace string) (context.Context, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.held[workspace]
	if l == nil || l.releasing || m.stopping {
		return nil, false
	}
	m.busy[workspace]++
	return l.ctx, true
}

// Idle marks the end of a run Busy started: a lease being given back goes
// once its workspace is idle.
func (m *Manager) Idle(workspace string) {
	m.mu.Lock()
	if m.busy[workspace] == 0 {
		m.mu.Unlock()
		return
	}
	m.busy[workspace]--
	idle := m.busy[workspace] == 0
	if idle {
		delete(m.busy, workspace)
	}
	// l.releasing is written under m.mu (by plan): read it under m.mu too.
	l := m.held[workspace]
	wake := idle && (l == nil || l.releasing)
	m.mu.Unlock()
	if wake {
		m.wake()
	}
}

// Lease is a workspace this instance holds.
type Lease struct {
	Workspace string
	// Ctx ends when the hold ends: given back, lost, or Run returned.
	Ctx context.Context
	// Since is when this instance took it, on this process's clock.
	Since time.Time
	// Releasing says the lease is being given back once the workspace is
	// idle: Busy refuses new runs.
	Releasing bool
}

// Leases lists the leases held, by workspace.
func (m *Manager) Leases() []Lease {
	m.mu.Lock()
	defer m.mu.Unlock()
	ls := make([]Lease, 0, len(m.held))
	for _, l := range m.held {
		ls = append(ls, Lease{Workspace: l.workspace, Ctx: l.ctx, Since: l.since, Releasing: l.releasing})
	}
	slices.SortFunc(ls, func(a, b Lease) int { return strings.Compare(a.Workspace, b.Workspace) })
	return ls
}

// Changed receives a value after the leases held (or their Releasing) have
// changed: the user then reads Leases. A signal rather than a queue of
// events, so that a slow reader never holds up the renewals and never reads
// a stale story: Leases is always the truth.
func (m *Manager) Changed() <-chan struct{} { return m.changed }

// Holders lists the workspaces leased in the bucket, by workspace.
func (m *Manager) Holders(ctx context.Context) ([]Holder, error) {
	v, err := m.b.list(ctx)
	if err != nil {
		return nil, err
	}
	return v.holderList(), nil
}

func (m *Manager) notify() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

func (m *Manager) wake() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// sortedKeys returns a set's members, sorted.
func sortedKeys[V any](set map[string]V) []string {
	return slices.Sorted(maps.Keys(set))
}
