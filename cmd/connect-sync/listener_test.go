package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// listenerCap is the service's maxConnections.
const listenerCap = 64

// openFiles counts the process's file descriptors.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// Hundreds of clients that send a request and then hold their keep-alive
// connection idle: the service holds no more than its cap of them at once
// (the others wait, and are served in turn), closes each after
// http.idle_timeout, and goes on syncing meanwhile.
func TestListenerClosesIdleConnectionsAndCapsThem(t *testing.T) {
	w := newWorkspace(t, 10)
	// A key right after listen's line is one of the http block's.
	url := w.serviceConfig("  idle_timeout: 1s\n")
	s := w.startService(url)
	s.expect("READY=1")
	eventually(t, "/healthz to answer 200", func() bool { code, _ := s.get("/healthz"); return code == http.StatusOK })
	runs := value(s.metrics(), "connect_sync_runs_total")
	pid := s.cmd.Process.Pid
	before := openFiles(t, pid)

	stop, sampled := make(chan struct{}), make(chan int)
	go func() {
		most := 0
		for {
			most = max(most, openFiles(t, pid))
			select {
			case <-stop:
				sampled <- most
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	const clients = 300
	var served, closed atomic.Int32
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Minute) // generous: the clients take about 5 s
	for range clients {
		wg.Go(func() {
			conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			conn.SetDeadline(deadline)
			io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
			r := bufio.NewReader(conn)
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Errorf("a client waiting beyond the cap was not served: %v", err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode == http.StatusOK && !resp.Close {
				served.Add(1)
			}
			if _, err := r.ReadByte(); err == io.EOF {
				closed.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	most := <-sampled
	t.Logf("file descriptors: %d before the clients, at most %d with them", before, most)
	if served.Load() != clients || closed.Load() != clients {
		t.Errorf("of %d clients holding an idle connection, %d were served and %d had it closed by the service within a minute", clients, served.Load(), closed.Load())
	}
	// A few descriptors more for the runs going on meanwhile.
	if most > before+listenerCap+16 {
		t.Errorf("the service held %d file descriptors with %d clients, %d before them: more than its cap of %d connections", most, clients, before, listenerCap)
	}
	if code, _ := s.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after the clients: %d", code)
	}
	if after := value(s.metrics(), "connect_sync_runs_total"); after <= runs {
		t.Errorf("no run while the clients held the listener: %v runs before, %v after", runs, after)
	}
}

// A service listening on every address answers only to its own names and
// those of http.allowed_hosts, on every address it is reached at, and
// warns that it is exposed.
func TestListenerChecksHostBeyondLoopback(t *testing.T) {
	w := newWorkspace(t, 10)
	url := w.serviceConfig("  allowed_hosts: [metrics.example.com]\n")
	port := url[strings.LastIndex(url, ":")+1:]
	config, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	w.writeConfig(strings.Replace(string(config), "listen: 127.0.0.1:", "listen: 0.0.0.0:", 1))
	s := w.startService(url)
	s.expect("READY=1")

	addresses := []string{"127.0.0.1"}
	if ip := nonLoopbackIPv4(t); ip != "" {
		addresses = append(addresses, ip)
	}
	for _, address := range addresses {
		for _, tt := range []struct {
			host, path string
			want       int
		}{
			{"evil.example", "/status", http.StatusMisdirectedRequest},
			{"evil.example:" + port, "/metrics", http.StatusMisdirectedRequest},
			{"metrics.example.com:" + port, "/status", http.StatusOK},
			{"metrics.example.com", "/metrics", http.StatusOK},
			{address + ":" + port, "/status", http.StatusOK},
		} {
			req, _ := http.NewRequest(http.MethodGet, "http://"+net.JoinHostPort(address, port)+tt.path, nil)
			req.Host = tt.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET %s at %s with Host %s: %d, want %d: %s", tt.path, address, tt.host, resp.StatusCode, tt.want, b)
			}
			if tt.want == http.StatusMisdirectedRequest && !strings.Contains(string(b), "http.allowed_hosts") {
				t.Errorf("GET %s with Host %s: the answer does not name the setting: %s", tt.path, tt.host, b)
			}
		}
	}
	// status asks the service by localhost.
	eventually(t, "the first run in `status`", func() bool { return w.status().Contacts == 10 })
	if !strings.Contains(s.logs.String(), "put a reverse proxy with TLS and authentication in front of it") {
		t.Error("no warning that the listener is reachable from other machines")
	}
}

// nonLoopbackIPv4 returns an IPv4 address of this machine's that is not
// loopback, or "" when it has none.
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}
