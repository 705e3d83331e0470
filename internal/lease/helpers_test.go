package lease

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testBucket is the bucket the tests share out.
const testBucket = "leases"

// workspaces returns n workspace names.
func workspaces(n int) []string {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("ws%02d", i))
	}
	return names
}

// logs collects the managers' logs, shown if the test fails.
type logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLogs returns a logger whose output the test shows if it fails.
func newLogs(t *testing.T) *slog.Logger {
	l := &logs{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("managers' logs:\n%s", l)
		}
	})
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// node is one instance under test: a Manager on its own connection,
// running until the test ends, stops it, or crashes it.
type node struct {
	m      *Manager
	js     jetstream.JetStream
	nc     *nats.Conn
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// connect opens a connection that retries forever, quickly, as a
// connect-sync run would be configured to.
func connect(t *testing.T, urls []string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(strings.Join(urls, ","), nats.Timeout(5*time.Second),
		nats.ReconnectWait(200*time.Millisecond), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	return nc, js
}

// startNode opens a Manager for instance id with opts (Bucket, Instance
// and, if unset, TTL and Logger filled in) and runs it.
func startNode(t *testing.T, urls []string, opts Options, names []string) *node {
	t.Helper()
	nc, js := connect(t, urls)
	opts.Bucket = testBucket
	if opts.TTL == 0 {
		opts.TTL = 2 * time.Second
	}
	// A cluster just up may not place a replicated bucket yet.
	deadline := time.Now().Add(time.Minute)
	m, err := Open(t.Context(), js, opts)
	for err != nil && time.Now().Before(deadline) {
		t.Logf("open: %v; retrying", err)
		time.Sleep(500 * time.Millisecond)
		m, err = Open(t.Context(), js, opts)
	}
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	if err := m.SetWorkspaces(names); err != nil {
		t.Fatal(err)
	}
	n := &node{m: m, js: js, nc: nc, done: make(chan error, 1)}
	runCtx, stop := context.WithCancel(context.Background())
	n.cancel = stop
	go func() { n.done <- m.Run(runCtx) }()
	t.Cleanup(n.stop)
	return n
}

// stop stops the node gracefully and waits until Run has returned.
func (n *node) stop() {
	n.once.Do(func() {
		n.cancel()
		<-n.done
		n.nc.Close()
	})
}

// crash stops the node as a killed process would: nothing reaches the
// server any more, and Run ends every lease's context as the process's
// end would end its runs.
func (n *node) crash() {
	n.once.Do(func() {
		n.nc.Close()
		n.cancel()
		<-n.done
	})
}

// held returns the workspaces the node holds, by its own view.
func (n *node) held() map[string]bool {
	set := map[string]bool{}
	for _, l := range n.m.Leases() {
		if l.Ctx.Err() == nil {
			set[l.Workspace] = true
		}
	}
	return set
}

// deadlines returns the node's leases' current deadlines.
func (n *node) deadlines() map[string]time.Time {
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	d := map[string]time.Time{}
	for name, l := range n.m.held {
		d[name] = l.deadline
	}
	return d
}

// since returns when the node took each workspace it holds.
func (n *node) since() map[string]time.Time {
	s := map[string]time.Time{}
	for _, l := range n.m.Leases() {
		s[l.Workspace] = l.Since
	}
	return s
}

// eventually waits until cond holds, or fails the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// generous is how long a test waits for what should take a few ticks: the
// machine may be slow.
func generous(ttl time.Duration) time.Duration { return 5*ttl + 10*time.Second }

// split reports who holds what: the nodes holding each workspace, and how
// many each node holds.
func split(nodes []*node) (holders map[string][]int, counts []int) {
	holders = map[string][]int{}
	counts = make([]int, len(nodes))
	for i, n := range nodes {
		for name := range n.held() {
			holders[name] = append(holders[name], i)
			counts[i]++
		}
	}
	return holders, counts
}

// fair reports whether every one of names is held by exactly one of nodes
// and each node holds len(names)/len(nodes), rounded down or up.
func fair(nodes []*node, names []string) bool {
	holders, counts := split(nodes)
	if len(holders) != len(names) {
		return false
	}
	for _, name := range names {
		if len(holders[name]) != 1 {
			return false
		}
	}
	lo := len(names) / len(nodes)
	for _, c := range counts {
		if c < lo || c > (len(names)+len(nodes)-1)/len(nodes) {
			return false
		}
	}
	return true
}

// span is a time during which a node certainly held a lease: from when it
// took it to the last sample that saw it.
type span struct {
	node     int
	from, to time.Time
}

// overlapWatch samples the nodes' own views every 50 ms and fails the test
// if two nodes ever held one workspace at the same time. A lease is held
// from its Since until it ends, and was held when a sample began if the
// sample saw it, so two spans that intersect are a real overlap, whatever
// the sampling's own delays.
type overlapWatch struct {
	t     *testing.T
	mu    sync.Mutex
	nodes []*node
	spans map[string][]span
	bad   map[string]bool
	stop  chan struct{}
	done  chan struct{}
}

func watchOverlap(t *testing.T, nodes ...*node) *overlapWatch {
	w := &overlapWatch{t: t, nodes: nodes, spans: map[string][]span{}, bad: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	t.Cleanup(w.finish)
	return w
}

// add watches one more node.
func (w *overlapWatch) add(n *node) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nodes = append(w.nodes, n)
}

func (w *overlapWatch) run() {
	defer close(w.done)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		w.sample()
		select {
		case <-w.stop:
			w.sample()
			return
		case <-tick.C:
		}
	}
}

func (w *overlapWatch) sample() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, n := range w.nodes {
		at := time.Now()
		for _, l := range n.m.Leases() {
			w.record(i, l.Workspace, l.Since, at)
		}
	}
}

func (w *overlapWatch) record(node int, name string, since, at time.Time) {
	to := at
	if since.After(to) {
		to = since
	}
	spans := w.spans[name]
	i := 0
	for ; i < len(spans); i++ {
		if spans[i].node == node && spans[i].from.Equal(since) {
			break
		}
	}
	if i == len(spans) {
		spans = append(spans, span{node: node, from: since, to: to})
	} else if to.After(spans[i].to) {
		spans[i].to = to
	}
	w.spans[name] = spans
	s := spans[i]
	for _, o := range spans {
		if o.node == node {
			continue
		}
		from, until := s.from, s.to
		if o.from.After(from) {
			from = o.from
		}
		if o.to.Before(until) {
			until = o.to
		}
		if !from.After(until) {
			w.bad[fmt.Sprintf("%s held by nodes %d and %d at once", name, min(o.node, node), max(o.node, node))] = true
		}
	}
}

// finish stops sampling and fails the test on any overlap.
func (w *overlapWatch) finish() {
	select {
	case <-w.stop:
		return
	default:
	}
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	for b := range w.bad {
		w.t.Error(b)
	}
}
