package lease

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// lease is a workspace held; the fields are guarded by Manager.mu. A lease
// is held while it is in Manager.held: it is put there once the server has
// confirmed the create, and taken out, with its context cancelled, at the
// deadline, on a conflict, or before its key is purged.
type lease struct {
	workspace string
	rev       uint64
	since     time.Time
	deadline  time.Time   // monotonic: sent + TTL - margin of the last confirmed write
	timer     *time.Timer // fires at the deadline
	ctx       context.Context
	cancel    context.CancelFunc
	releasing bool
}

// candidate is a workspace to try to take: rev is 0 for a free one, or the
// revision of a key that carries this process's session although it holds
// no lease on it (a create whose answer was lost).
type candidate struct {
	workspace string
	rev       uint64
}

// renewAll renews every lease at once, so that a slow server delays none
// of them by the others' timeouts.
func (m *Manager) renewAll(ctx context.Context) error {
	m.mu.Lock()
	ls := make([]*lease, 0, len(m.held))
	for _, l := range m.held {
		ls = append(ls, l)
	}
	m.mu.Unlock()
	errs := make([]error, len(ls))
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Go(func() { errs[i] = m.renew(ctx, l) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// renew writes the lease's key from its revision. A conflict means the
// key is another's or gone, unless a write of this process's landed
// unconfirmed; any other error leaves the lease to its deadline.
func (m *Manager) renew(ctx context.Context, l *lease) error {
	m.mu.Lock()
	if m.held[l.workspace] != l {
		m.mu.Unlock()
		return nil
	}
	rev := l.rev
	m.mu.Unlock()
	key := workspacePrefix + l.workspace
	rec := leaseRecord{Instance: m.id, Session: m.session, AcquiredAt: l.since, RenewedAt: time.Now()}
	sent := time.Now()
	rev, err := m.write(ctx, key, rec, rev)
	if conflict(err) {
		rev, sent, err = m.adopt(ctx, key, rec)
	}
	switch {
	case err == nil:
		m.confirm(l, rev, sent)
	case errors.Is(err, errTaken):
		if m.end(l) {
			m.log.Warn("lease: lost workspace: its key is gone or another's", "workspace", l.workspace)
		}
	default:
		return fmt.Errorf("lease: renew %s: %w", l.workspace, err)
	}
	return nil
}

// confirm records a write the server confirmed, sent at sent.
func (m *Manager) confirm(l *lease, rev uint64, sent time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held[l.workspace] != l {
		return // lost meanwhile: the key is an orphan the next pass takes or purges
	}
	l.rev = rev
	l.deadline = sent.Add(m.ttl - m.margin)
	l.timer.Reset(time.Until(l.deadline))
}

// expire ends the lease if its deadline has passed.
func (m *Manager) expire(l *lease) {
	m.mu.Lock()
	if m.held[l.workspace] != l {
		m.mu.Unlock()
		return
	}
	if d := time.Until(l.deadline); d > 0 { // renewed meanwhile
		l.timer.Reset(d)
		m.mu.Unlock()
		return
	}
	m.endLocked(l)
	m.mu.Unlock()
	m.log.Warn("lease: lost workspace: no renewal confirmed before its deadline", "workspace", l.workspace)
	m.notify()
}

// end ends the lease if it is still held, and reports whether it was.
func (m *Manager) end(l *lease) bool {
	m.mu.Lock()
	ok := m.held[l.workspace] == l
	if ok {
		m.endLocked(l)
	}
	m.mu.Unlock()
	if ok {
		m.notify()
	}
	return ok
}

func (m *Manager) endLocked(l *lease) {
	delete(m.held, l.workspace)
	l.cancel()
	l.timer.Stop()
}

// rebalance gives back what is over the quota or no longer configured (or
// everything, stopping) once idle, purges keys of this process's it does
// not hold, and takes free workspaces up to the quota. Without a view of
// the bucket (v nil) it only gives back.
func (m *Manager) rebalance(ctx context.Context, v *view) error {
	give, take, need := m.plan(v)
	var errs []error
	giveBack := func(c candidate) {
		if err := m.purge(ctx, workspacePrefix+c.workspace, c.rev); err != nil {
			errs = append(errs, fmt.Errorf("lease: give back %s: %w", c.workspace, err))
		}
	}
	for _, c := range give {
		m.log.Info("lease: giving workspace back", "workspace", c.workspace)
		giveBack(c)
	}
	for _, c := range take {
		if need == 0 {
			if c.rev != 0 { // this process's key it does not want
				giveBack(c)
			}
			continue
		}
		ok, err := m.acquire(ctx, c)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			need--
		}
	}
	return errors.Join(errs...)
}

// plan decides, under the lock, which leases to give back (ending those
// that are idle: they are returned, to purge) and which workspaces to try
// to take, best first, and how many.
func (m *Manager) plan(v *view) (give, take []candidate, need int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keep []string
	for name := range m.held {
		if m.workspaces[name] && !m.stopping {
			keep = append(keep, name)
		}
	}
	q := len(keep) // without a view of the bucket, keep what is held
	if v != nil && !m.stopping {
		counts := map[string]int{}
		for _, h := range v.holders {
			counts[h.Instance]++
		}
		counts[m.id] = len(m.held)
		q = quota(m.id, len(m.workspaces), sortedKeys(v.instances), counts)
	}
	byScore(keep, m.id, itself)
	keep = keep[:min(q, len(keep))]
	changed := false
	given := map[string]bool{}
	for _, name := range sortedKeys(m.held) {
		l := m.held[name]
		releasing := !slices.Contains(keep, name)
		changed = changed || releasing != l.releasing
		l.releasing = releasing
		if releasing && m.busy[name] == 0 {
			m.endLocked(l)
			give = append(give, candidate{name, l.rev})
			given[name] = true
		}
	}
	if changed || len(give) > 0 {
		m.notify()
	}
	if v == nil || m.stopping {
		return give, nil, 0
	}
	for name, h := range v.holders {
		switch {
		case h.Session != m.session || m.held[name] != nil || given[name]:
			// Another's, or held, or being given back.
		case m.busy[name] > 0:
			// A lost lease's run is still ending: its key keeps others off.
		case m.workspaces[name]:
			take = append(take, candidate{name, h.rev})
		default:
			give = append(give, candidate{name, h.rev})
		}
	}
	for name := range m.workspaces {
		if _, taken := v.holders[name]; !taken && m.held[name] == nil && m.busy[name] == 0 {
			take = append(take, candidate{workspace: name})
		}
	}
	byScore(take, m.id, func(c candidate) string { return c.workspace })
	if m.instRev == 0 {
		return give, take, 0 // no heartbeat: others would not count this instance
	}
	return give, take, max(q-len(keep), 0)
}

// acquire writes a lease key from c.rev and, once the server confirms it,
// holds the lease. It reports false without error if another has it.
func (m *Manager) acquire(ctx context.Context, c candidate) (bool, error) {
	sent := time.Now()
	rec := leaseRecord{Instance: m.id, Session: m.session, AcquiredAt: sent, RenewedAt: sent}
	rev, err := m.write(ctx, workspacePrefix+c.workspace, rec, c.rev)
	if conflict(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lease: take %s: %w", c.workspace, err)
	}
	l := &lease{workspace: c.workspace, rev: rev, deadline: sent.Add(m.ttl - m.margin)}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	m.mu.Lock()
	l.since = sent // what the key says, and renewals write again
	l.timer = time.AfterFunc(time.Until(l.deadline), func() { m.expire(l) })
	l.releasing = m.stopping || !m.workspaces[c.workspace]
	m.held[c.workspace] = l
	m.mu.Unlock()
	m.log.Info("lease: took workspace", "workspace", c.workspace)
	m.notify()
	return true, nil
}
