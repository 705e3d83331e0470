// Package lease divides workspaces among the connect-sync instances that
// share one NATS JetStream key-value bucket, so that each workspace is
// synced by at most one live instance at a time, and another instance
// takes a dead one's workspaces over.
//
// Each instance writes a heartbeat, key instance.<id>, and holds one key
// workspace.<name> per workspace it syncs. Every write is a compare-and-set
// on the key's revision (a create expects no key at all), so JetStream,
// Raft-replicated when the bucket has replicas, decides who holds what:
// connect-sync adds no consensus of its own. The bucket's TTL (its stream's
// MaxAge) removes every message TTL after the server stored it, so a dead
// instance's heartbeat and leases vanish one TTL after its last write, and
// a live instance writes each of its keys again every tick (TTL/3). An
// instance that stops gracefully gives its leases back at once.
//
// # Safety
//
// A lease is valid for its holder until sent + TTL - margin, where sent is
// when the holder sent the last create or renewal the server confirmed,
// read on the monotonic clock, and margin is TTL/4. The server stored that
// write after it was sent, so it keeps the key until sent + TTL at the
// earliest, and nobody can create it before then. When the deadline passes
// without a newer confirmed renewal, the lease's context is cancelled (the
// user must stop writing) and the lease is lost. Two holders at once are
// therefore impossible as long as:
//
//   - the process is not frozen (a long GC pause, SIGSTOP, a suspended VM)
//     for longer than the margin just as a deadline passes, and a run stops
//     writing within the margin once its context ends (a write already on
//     the wire when the context ends is not fenced);
//   - this machine's clock and the servers' run at about the same rate, and
//     the servers' clocks agree within the margin (each replica expires
//     messages by its own clock, from the timestamp the leader gave them).
//
// No two instances ever compare-and-set the same revision of a key: only
// its holder renews a key, and a key given back is purged (up to its
// holder's revision, so a newer holder's write survives a late purge)
// rather than deleted, because takers would all update a delete marker from
// the same revision, and a clustered nats-server before 2.9.21 can accept
// such concurrent updates twice (nats-server issue 4320, seen here on
// 2.9.10). Creates, which expect no key, are checked when applied, in Raft
// order, and only one of several concurrent creates succeeds. A clustered
// nats-server older than August 2024 (pull request 5794) may still apply a
// create on one replica and not on another when the key expires on them at
// different moments; a leader change before they resynchronise could then
// show a stale holder.
//
// # Fairness
//
// With n workspaces and k live instances (those with a heartbeat), an
// instance holds at most n/k, or one more for the n%k instances holding
// the most (ties by id), so the quotas add up to n. It gives back the
// surplus (keeping those with the highest rendezvous hash of workspace and
// instance) and, under its quota, tries free workspaces by the same hash,
// so that instances tend to want different ones. A workspace it gives back
// waits until the user reports it idle (see Manager.Busy).
package lease
