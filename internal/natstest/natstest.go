// Package natstest starts real nats-server processes with JetStream for
// tests: one server, or a cluster of three joined by routes, on free
// loopback ports with their storage in temporary folders, through
// internal/servertest: without nats-server installed a test is skipped,
// unless servertest.EnvVar makes that a failure. Silent listens like
// servers that never answer, for the tests of a connect's bounds; Echo
// like one that quotes the credentials it got back, for the tests of
// their redaction.
package natstest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/servertest"
)

// jetStreamTimeout bounds how long a server's (or a cluster's) JetStream
// may take to come up on a loaded machine.
const jetStreamTimeout = time.Minute

// Server is one running nats-server.
type Server struct {
	Name string
	URL  string // nats://127.0.0.1:port
	proc *servertest.Process
}

// Start runs one nats-server with JetStream and waits until JetStream
// answers. extra is added to its config file (users, permissions, limits).
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := servertest.RequireBinary(t, "nats-server")
	addr := servertest.FreeAddr(t)
	config := filepath.Join(t.TempDir(), "nats.conf")
	servertest.WriteFile(t, config, fmt.Sprintf("server_name: n1\nlisten: %s\njetstream {\n  store_dir: %q\n}\n%s", addr, t.TempDir(), strings.Join(extra, "\n")))
	s := &Server{Name: "n1", URL: "nats://" + addr, proc: servertest.Start(t, addr, bin, "-c", config)}
	if len(extra) == 0 {
		WaitJetStream(t, s.URL)
	}
	return s
}

// Stop kills the server, as a crash would: clients see refused
// connections until Restart.
func (s *Server) Stop() { s.proc.Stop() }

// Restart starts the server again with the same address and storage and
// waits until it listens.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.proc.Restart(t)
}

// Cluster is three nats-servers with JetStream joined by routes.
type Cluster struct {
	Nodes []*Server
}

// StartCluster runs a three-node cluster and waits until JetStream has a
// meta leader, so that replicated streams can be created.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := servertest.RequireBinary(t, "nats-server")
	const n = 3
	// A port FreeAddr has let go of may come back from it: two nodes on
	// one address would leave a cluster of two, whose first node the
	// second's wait for its listener takes for it.
	taken := map[string]bool{}
	free := func() string {
		for {
			if addr := servertest.FreeAddr(t); !taken[addr] {
				taken[addr] = true
				return addr
			}
		}
	}
	addrs, routes := make([]string, n), make([]string, n)
	for i := range n {
		addrs[i], routes[i] = free(), free()
	}
	var routeURLs []string
	for _, r := range routes {
		routeURLs = append(routeURLs, fmt.Sprintf("%q", "nats-route://"+r))
	}
	c := &Cluster{}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		config := filepath.Join(t.TempDir(), name+".conf")
		servertest.WriteFile(t, config, fmt.Sprintf(`server_name: %s
listen: %s
jetstream {
  store_dir: %q
}
cluster {
  name: connect-sync-test
  listen: %s
  routes: [%s]
}
`, name, addrs[i], t.TempDir(), routes[i], strings.Join(routeURLs, ", ")))
		c.Nodes = append(c.Nodes, &Server{Name: name, URL: "nats://" + addrs[i], proc: servertest.Start(t, addrs[i], bin, "-c", config)})
	}
	for _, s := range c.Nodes {
		WaitJetStream(t, s.URL)
	}
	return c
}

// URLs lists every node's URL.
func (c *Cluster) URLs() []string {
	var urls []string
	for _, s := range c.Nodes {
		urls = append(urls, s.URL)
	}
	return urls
}

// WaitJetStream waits until JetStream answers an account info request
// through url, which in a cluster means it has elected its meta leader.
func WaitJetStream(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(jetStreamTimeout)
	var last error
	for time.Now().Before(deadline) {
		if last = accountInfo(url); last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("jetstream at %s does not answer: %v", url, last)
}

func accountInfo(url string) error {
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second), nats.NoReconnect())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// Connect opens a JetStream client to the urls, closed when the test ends.
func Connect(t testing.TB, urls ...string) jetstream.JetStream {
	t.Helper()
	return ConnectWith(t, urls)
}

// ConnectWith is Connect with more options for the connection.
func ConnectWith(t testing.TB, urls []string, opts ...nats.Option) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(strings.Join(urls, ","), append([]nats.Option{nats.Timeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// Messages returns every message the stream holds, in order.
func Messages(t testing.TB, js jetstream.JetStream, stream string) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*jetstream.RawStreamMsg
	if info.State.Msgs == 0 {
		return nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("stream %s message %d: %v", stream, seq, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// Silent listens on n loopback ports, accepting connections and never
// answering, as a server that hangs or a black hole behind a proxy would,
// and returns their nats:// URLs; it closes them when the test ends.
func Silent(t testing.TB, n int) []string {
	t.Helper()
	var urls []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var conns []net.Conn
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				c, err := l.Accept()
				if err != nil {
					for _, c := range conns {
						c.Close()
					}
					return
				}
				conns = append(conns, c)
			}
		}()
		t.Cleanup(func() { l.Close(); <-done })
		urls = append(urls, "nats://"+l.Addr().String())
	}
	return urls
}

// Echo listens like a server that wants credentials, and answers every
// CONNECT with an -ERR quoting the token or password it got, upper-cased,
// as a hostile server (or whoever answers as one) may. It returns its
// nats:// URL, and closes when the test ends.
func Echo(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	credential := regexp.MustCompile(`"(?:auth_token|pass)":"([^"]*)"`)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Minute))
				fmt.Fprint(c, `INFO {"server_id":"echo","version":"2.10.0","proto":1,"max_payload":1048576,"auth_required":true}`+"\r\n")
				line, _ := bufio.NewReader(c).ReadString('\n')
				sent := ""
				if m := credential.FindStringSubmatch(line); m != nil {
					sent = m[1]
				}
				fmt.Fprintf(c, "-ERR 'Bad credentials %s'\r\n", strings.ToUpper(sent))
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return "nats://" + l.Addr().String()
}
