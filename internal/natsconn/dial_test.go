package natsconn

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsclient "github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/secret"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// dial connects with the settings that edit makes of valid ones, closing
// the connection when the test ends.
func dial(t *testing.T, ctx context.Context, edit func(*Config)) (*natsclient.Conn, error) {
	t.Helper()
	c := valid()
	edit(c)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	o, err := c.Options("natsconn-test")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := Dial(ctx, o)
	if nc != nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// Dial connects with the credentials and the name given; a wrong password
// is refused, and the error does not show it.
func TestDial(t *testing.T) {
	srv := natstest.Start(t, `authorization {
  users: [{user: alice, password: "pw-alice-123"}]
}
`)
	nc, err := dial(t, t.Context(), func(c *Config) {
		c.URLs, c.User, c.Password = []string{srv.URL}, "alice", secret.New("pw-alice-123")
	})
	if err != nil {
		t.Fatal(err)
	}
	if !nc.IsConnected() || nc.Opts.Name != "natsconn-test" {
		t.Errorf("connected %v, name %q", nc.IsConnected(), nc.Opts.Name)
	}
	_, err = dial(t, t.Context(), func(c *Config) {
		c.URLs, c.User, c.Password = []string{srv.URL}, "alice", secret.New("nope-nope")
	})
	if err == nil || !strings.Contains(err.Error(), "uthorization") || strings.Contains(err.Error(), "nope-nope") {
		t.Errorf("wrong password: %v, want an authorization error without the password", err)
	}
}

// Connecting ends with the context and within the timeout overall, not
// the timeout for each server in turn: servers that accept and never
// answer make Dial return long before every server's timeout has passed.
// The bound asserted is far above the expected time, so that only a
// connect that waits on each server fails.
func TestDialBounded(t *testing.T) {
	const perServer = 20 * time.Second
	returns := func(t *testing.T, call func() error) error {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			return err
		case <-time.After(perServer / 2):
			t.Fatalf("still connecting after %v", perServer/2)
			return nil
		}
	}
	t.Run("context", func(t *testing.T) {
		urls := natstest.Silent(t, 3)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		// 3 servers × 20s: the client alone would take a minute.
		err := returns(t, func() error {
			_, err := dial(t, ctx, func(c *Config) { c.URLs, c.Timeout = urls, perServer })
			return err
		})
		if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "no server answered") {
			t.Errorf("Dial: %v, want the context's error", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		urls := natstest.Silent(t, 3)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(200*time.Millisecond, cancel)
		err := returns(t, func() error {
			_, err := dial(t, ctx, func(c *Config) { c.URLs, c.Timeout = urls, perServer })
			return err
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Dial: %v, want context.Canceled", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		urls := natstest.Silent(t, 30)
		// 30 servers × 1s: the client alone would take 30s.
		err := returns(t, func() error {
			_, err := dial(t, t.Context(), func(c *Config) { c.URLs, c.Timeout = urls, time.Second })
			return err
		})
		if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "no server answered within 1s: context deadline exceeded" {
			t.Errorf("Dial: %v, want it to say no server answered within 1s", err)
		}
	})
}

// fakeServer speaks just enough of the NATS protocol to greet a client
// and then hang up on it, announcing other servers of its cluster in its
// greeting; it counts the connections it got and keeps what the clients
// sent.
type fakeServer struct {
	ln       net.Listener
	accepted atomic.Int32
	mu       sync.Mutex
	got      strings.Builder
}

func startFakeServer(t *testing.T, announce ...string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln}
	urls, _ := json.Marshal(announce)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			fmt.Fprintf(conn, "INFO {\"server_id\":\"fake\",\"version\":\"2.9.10\",\"proto\":1,\"max_payload\":1048576,\"headers\":true,\"connect_urls\":%s}\r\n", urls)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			r := bufio.NewReader(conn)
			for {
				line, err := r.ReadString('\n')
				s.mu.Lock()
				s.got.WriteString(line)
				s.mu.Unlock()
				if err != nil || strings.HasPrefix(line, "PING") {
					break
				}
			}
			conn.Write([]byte("PONG\r\n"))
			conn.Close() // the client reconnects, to whichever server it knows
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return s
}

func (s *fakeServer) received() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got.String()
}

// A server the client is not configured with gets nothing from it, even
// when the one it is configured with announces it, unless discover_servers
// says so: otherwise a server, or whoever answers as one, could send the
// client and its credentials anywhere.
func TestDiscoveredServersGetNoCredentials(t *testing.T) {
	for _, discover := range []bool{false, true} {
		t.Run(fmt.Sprint("discover_servers=", discover), func(t *testing.T) {
			elsewhere := startFakeServer(t)
			configured := startFakeServer(t, elsewhere.ln.Addr().String())
			nc, err := dial(t, t.Context(), func(c *Config) {
				c.URLs = []string{"nats://" + configured.ln.Addr().String()}
				c.User, c.Password = "alice", secret.New("pw-alice-123")
				c.DiscoverServers = discover
			})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			// Three connections to the configured server: the client has
			// reconnected twice, and chosen each time among what it knows.
			for configured.accepted.Load() < 3 && elsewhere.accepted.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			nc.Close()
			switch got := elsewhere.received(); {
			case !discover && got != "":
				t.Errorf("an announced server got %q", got)
			case discover && !strings.Contains(got, "pw-alice-123"):
				t.Errorf("with discover_servers the announced server got %q, want the client's CONNECT", got)
			}
		})
	}
}
