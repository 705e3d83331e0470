package lease

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/natstest"
)

// One instance takes every workspace, and the bucket says so.
func TestOneInstanceHoldsAll(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	names := workspaces(10)
	a := startNode(t, []string{s.URL}, Options{Instance: "a", Logger: newLogs(t)}, names)
	eventually(t, generous(a.m.TTL()), "a holds all 10", func() bool { return len(a.held()) == 10 })
	select {
	case <-a.m.Changed():
	default:
		t.Error("no change signalled")
	}

	for _, list := range []func(context.Context) ([]Holder, error){
		a.m.Holders,
		func(ctx context.Context) ([]Holder, error) {
			return Holders(ctx, natstest.Connect(t, s.URL), testBucket)
		},
	} {
		hs, err := list(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hs {
			got = append(got, h.Workspace)
			if h.Instance != "a" || !h.Live || h.PID == 0 || h.AcquiredAt.IsZero() || h.RenewedAt.Before(h.AcquiredAt) {
				t.Errorf("holder %+v", h)
			}
		}
		if !slices.Equal(got, names) {
			t.Errorf("holders %v, want %v", got, names)
		}
	}

	ctx, ok := a.m.Busy("ws03")
	if !ok || ctx.Err() != nil {
		t.Fatal("Busy refused a held workspace")
	}
	a.m.Idle("ws03")
	if _, ok := a.m.Busy("elsewhere"); ok {
		t.Error("Busy accepted a workspace not held")
	}
	a.stop()
	if ctx.Err() == nil {
		t.Error("a lease's context outlived Run")
	}
}

// Three instances split ten workspaces 4/3/3, and no workspace is ever
// held by two.
func TestFairSplit(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	names := workspaces(10)
	log := newLogs(t)
	start := time.Now()
	var nodes []*node
	for _, id := range []string{"a", "b", "c"} {
		nodes = append(nodes, startNode(t, []string{s.URL}, Options{Instance: id, Logger: log}, names))
	}
	watchOverlap(t, nodes...)
	ttl := nodes[0].m.TTL()
	eventually(t, generous(ttl), "a fair split", func() bool { return fair(nodes, names) })
	t.Logf("fair split after %v (ttl %v, tick %v)", time.Since(start).Round(time.Millisecond), ttl, nodes[0].m.tick)

	// A fair split stays as it is.
	before, _ := split(nodes)
	time.Sleep(3 * nodes[0].m.tick)
	after, _ := split(nodes)
	if !maps.EqualFunc(before, after, slices.Equal) {
		t.Errorf("the split moved: %v, then %v", before, after)
	}
}

// A crashed instance's workspaces go to the others once its keys expire,
// not before.
func TestCrashTakeover(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	names := workspaces(10)
	log := newLogs(t)
	var nodes []*node
	for _, id := range []string{"a", "b", "c"} {
		nodes = append(nodes, startNode(t, []string{s.URL}, Options{Instance: id, Logger: log}, names))
	}
	watchOverlap(t, nodes...)
	ttl, tick := nodes[0].m.TTL(), nodes[0].m.tick
	eventually(t, generous(ttl), "a fair split", func() bool { return fair(nodes, names) })

	dead := nodes[0]
	deadlines := dead.deadlines()
	crashed := time.Now()
	dead.crash()
	t.Logf("crashed a, holding %v", slices.Sorted(maps.Keys(deadlines)))
	rest := nodes[1:]
	eventually(t, generous(ttl), "b and c hold 5 each", func() bool { return fair(rest, names) })

	var takeover time.Duration
	for _, n := range rest {
		for name, since := range n.since() {
			d, ok := deadlines[name]
			if !ok {
				continue
			}
			takeover = max(takeover, since.Sub(crashed))
			if !since.After(d) {
				t.Errorf("%s taken %v before the crashed holder's deadline", name, d.Sub(since))
			}
		}
	}
	t.Logf("takeover %v after the crash (ttl %v + 2 ticks = %v)", takeover.Round(time.Millisecond), ttl, ttl+2*tick)
}

// A graceful stop gives the leases back: the others take them long before
// they could have expired.
func TestGracefulStopHandsOver(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	names := workspaces(10)
	log := newLogs(t)
	opts := func(id string) Options {
		return Options{Instance: id, Logger: log, TTL: 20 * time.Second, Tick: 500 * time.Millisecond}
	}
	var nodes []*node
	for _, id := range []string{"a", "b", "c"} {
		nodes = append(nodes, startNode(t, []string{s.URL}, opts(id), names))
	}
	watchOverlap(t, nodes...)
	eventually(t, generous(5*time.Second), "a fair split", func() bool { return fair(nodes, names) })

	gone := nodes[0]
	deadlines := gone.deadlines()
	stopped := time.Now()
	gone.stop()
	rest := nodes[1:]
	eventually(t, generous(5*time.Second), "b and c hold 5 each", func() bool { return fair(rest, names) })
	var handover time.Duration
	for _, n := range rest {
		for name, since := range n.since() {
			if d, ok := deadlines[name]; ok {
				handover = max(handover, since.Sub(stopped))
				if !since.Before(d) {
					t.Errorf("%s taken only after the stopped holder's deadline", name)
				}
			}
		}
	}
	t.Logf("handover %v after a graceful stop (ttl 20s)", handover.Round(time.Millisecond))

	hs, err := rest[0].m.Holders(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.Instance == "a" || !h.Live {
			t.Errorf("holder %+v after a's stop", h)
		}
	}
}

// A lease over the quota is given back only once its workspace is idle,
// and renewed meanwhile.
func TestReleaseWaitsForIdle(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	names := workspaces(4)
	log := newLogs(t)
	a := startNode(t, []string{s.URL}, Options{Instance: "a", Logger: log}, names)
	w := watchOverlap(t, a)
	ttl := a.m.TTL()
	eventually(t, generous(ttl), "a holds all 4", func() bool { return len(a.held()) == 4 })
	for _, name := range names {
		if _, ok := a.m.Busy(name); !ok {
			t.Fatalf("Busy(%s) refused", name)
		}
	}

	b := startNode(t, []string{s.URL}, Options{Instance: "b", Logger: log}, names)
	w.add(b)
	var releasing []string
	eventually(t, generous(ttl), "a gives 2 back", func() bool {
		releasing = nil
		for _, l := range a.m.Leases() {
			if l.Releasing {
				releasing = append(releasing, l.Workspace)
			}
		}
		return len(releasing) == 2
	})
	if _, ok := a.m.Busy(releasing[0]); ok {
		t.Errorf("Busy(%s) accepted a workspace being given back", releasing[0])
	}
	time.Sleep(ttl + ttl/2) // longer than a lease lives unrenewed
	if len(a.held()) != 4 || len(b.held()) != 0 {
		t.Fatalf("a holds %v, b %v while a is busy", a.held(), b.held())
	}

	a.m.Idle(releasing[0])
	eventually(t, generous(ttl), "b takes the idle one", func() bool { return b.held()[releasing[0]] })
	if !a.held()[releasing[1]] || len(a.held()) != 3 {
		t.Errorf("a holds %v, want 3 with the busy %s", a.held(), releasing[1])
	}
	a.m.Idle(releasing[1])
	eventually(t, generous(ttl), "a 2/b 2", func() bool { return fair([]*node{a, b}, names) })
	for _, name := range names {
		a.m.Idle(name)
	}
}

// A workspace removed from the configuration is given back, and one added
// is taken.
func TestSetWorkspaces(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	a := startNode(t, []string{s.URL}, Options{Instance: "a", Logger: newLogs(t)}, workspaces(5))
	ttl := a.m.TTL()
	eventually(t, generous(ttl), "a holds all 5", func() bool { return len(a.held()) == 5 })

	if err := a.m.SetWorkspaces(workspaces(4)); err != nil {
		t.Fatal(err)
	}
	eventually(t, generous(ttl), "ws04 given back", func() bool {
		hs, err := a.m.Holders(t.Context())
		return err == nil && len(hs) == 4 && !a.held()["ws04"]
	})
	if err := a.m.SetWorkspaces(append(workspaces(4), "new-1", "new_2")); err != nil {
		t.Fatal(err)
	}
	eventually(t, generous(ttl), "the new ones taken", func() bool {
		h := a.held()
		return len(h) == 6 && h["new-1"] && h["new_2"]
	})
	if err := a.m.SetWorkspaces([]string{"bad.name"}); err == nil {
		t.Error("SetWorkspaces took a name with a dot")
	}
}

// With the server gone for longer than the TTL, every lease ends by its
// deadline, before the server could have let another take it; once the
// server is back, the leases are taken again.
func TestServerDown(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out lease TTLs with the server down; runs without -short")
	}
	t.Parallel()
	s := natstest.Start(t)
	names := workspaces(5)
	a := startNode(t, []string{s.URL}, Options{Instance: "a", Logger: newLogs(t), TTL: 4 * time.Second}, names)
	ttl := a.m.TTL()
	eventually(t, generous(ttl), "a holds all 5", func() bool { return len(a.held()) == 5 })

	ended := make(chan time.Duration, len(names))
	down := time.Now()
	for _, l := range a.m.Leases() {
		context.AfterFunc(l.Ctx, func() { ended <- time.Since(down) })
	}
	s.Stop()
	eventually(t, generous(ttl), "a says it is cut off", func() bool { return a.m.Err() != nil })
	var latest time.Duration
	for range names {
		select {
		case d := <-ended:
			latest = max(latest, d)
		case <-time.After(generous(ttl)):
			t.Fatal("a lease outlived the server's absence")
		}
	}
	// The last renewal the server confirmed was sent before it went down,
	// so every deadline is within TTL-margin of that; the margin is what a
	// late timer may use up.
	t.Logf("every lease ended %v after the server went down (deadline at most %v, ttl %v)",
		latest.Round(time.Millisecond), ttl-a.m.margin, ttl)
	if latest >= ttl {
		t.Errorf("a lease ended %v after the server went down: its key could have expired by then", latest)
	}

	time.Sleep(time.Until(down.Add(ttl + time.Second)))
	s.Restart(t)
	eventually(t, generous(ttl), "a holds all 5 again", func() bool { return len(a.held()) == 5 })
	eventually(t, generous(ttl), "a no longer says it is cut off", func() bool { return a.m.Err() == nil })
}

// Open checks its options, and the bucket's TTL wins over the configured.
func TestOpen(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	js := natstest.Connect(t, s.URL)
	for _, o := range []Options{
		{Instance: ""},
		{Instance: "a.b"},
		{Instance: "a", TTL: time.Millisecond * 500},
		{Instance: "a", TTL: 3 * time.Second, Tick: 2 * time.Second},
	} {
		if _, err := Open(t.Context(), js, o); err == nil {
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
	if _, err := Open(t.Context(), js, Options{Bucket: testBucket, Instance: "a", TTL: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	m, err := Open(t.Context(), js, Options{Bucket: testBucket, Instance: "b", TTL: 9 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if m.TTL() != 2*time.Second || m.tick != 2*time.Second/3 {
		t.Errorf("ttl %v, tick %v: want the bucket's 2s", m.TTL(), m.tick)
	}
	info := m.b.stream.CachedInfo().Config
	if info.MaxMsgsPerSubject != 1 || info.Storage != jetstream.FileStorage || info.Replicas != 1 {
		t.Errorf("bucket config %+v", info)
	}
}

// A second process with a live instance's id takes nothing.
func TestDuplicateInstanceID(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	names := workspaces(4)
	log := newLogs(t)
	a := startNode(t, []string{s.URL}, Options{Instance: "same", Logger: log}, names)
	ttl := a.m.TTL()
	eventually(t, generous(ttl), "the first holds all 4", func() bool { return len(a.held()) == 4 })
	b := startNode(t, []string{s.URL}, Options{Instance: "same", Logger: log}, names)
	watchOverlap(t, a, b)
	time.Sleep(3 * a.m.tick)
	if len(b.held()) != 0 || len(a.held()) != 4 {
		t.Errorf("first holds %v, second %v", a.held(), b.held())
	}
	if err := b.m.Err(); err == nil || !strings.Contains(err.Error(), "instance id") {
		t.Errorf("the second's Err: %v, want one about its instance id", err)
	}
	a.stop()
	eventually(t, generous(ttl), "the second takes over", func() bool { return len(b.held()) == 4 })
}

// Writes of this process whose answers were lost are taken up: a key of
// its session is adopted, or purged if not wanted, and a renewal that
// finds its own newer write goes on; a key another process wrote is left
// alone, and a lease whose key another wrote is lost at once.
func TestOwnWritesAdopted(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	a := startNode(t, []string{s.URL}, Options{Instance: "a", Logger: newLogs(t), TTL: 20 * time.Second, Tick: time.Second}, []string{"x"})
	eventually(t, generous(5*time.Second), "a holds x", func() bool { return a.held()["x"] })
	ctx := t.Context()
	write := func(name, session string, expect uint64) uint64 {
		t.Helper()
		rev, err := a.m.b.write(ctx, workspacePrefix+name, leaseRecord{Instance: "a", Session: session}, expect)
		if err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
		return rev
	}
	write("y", a.m.session, 0)
	write("z", a.m.session, 0)
	write("w", "someone-else", 0)
	if err := a.m.SetWorkspaces([]string{"x", "y", "w"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, generous(5*time.Second), "y adopted, z purged", func() bool {
		hs, err := a.m.Holders(ctx)
		return err == nil && len(hs) == 3 && a.held()["y"] && !a.held()["w"]
	})

	// A renewal whose answer was lost: the key is a step ahead.
	x := a.m.Leases()[slices.IndexFunc(a.m.Leases(), func(l Lease) bool { return l.Workspace == "x" })]
	a.m.mu.Lock()
	rev := a.m.held["x"].rev
	a.m.mu.Unlock()
	write("x", a.m.session, rev)
	time.Sleep(3 * a.m.tick)
	if x.Ctx.Err() != nil {
		t.Fatal("x lost after a write of its own")
	}

	// Another process overwrites y: lost at the next renewal, long before
	// its deadline.
	y := a.m.Leases()[slices.IndexFunc(a.m.Leases(), func(l Lease) bool { return l.Workspace == "y" })]
	a.m.mu.Lock()
	rev = a.m.held["y"].rev
	a.m.mu.Unlock()
	write("y", "someone-else", rev)
	select {
	case <-y.Ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("y still held after another process wrote its key")
	}
}
