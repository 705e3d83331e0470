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
