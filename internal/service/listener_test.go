package service

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A connection past the cap waits until one closes, closing one twice
// frees one slot only, and closing the listener ends the wait.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newLimitListener(inner, 2)
	accepted := make(chan net.Conn, 10)
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("Accept: %v", err)
				}
				return
			}
			accepted <- c
		}
	}()
	dial := func() {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	next := func() net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no connection accepted")
			return nil
		}
	}
	// waits checks that no connection is accepted for a while: a bug
	// would show as one, sooner or later.
	waits := func(what string) {
		t.Helper()
		select {
		case c, ok := <-accepted:
			if ok {
				c.Close()
				t.Fatalf("%s: accepted beyond the cap", what)
			}
		case <-time.After(200 * time.Millisecond):
		}
	}

	for range 3 {
		dial()
	}
	first, second := next(), next()
	defer second.Close()
	waits("a third connection")
	first.Close()
	first.Close()
	third := next()
	defer third.Close()
	dial()
	waits("a fourth connection, after the first was closed twice")

	ln.Close()
	select {
	case c, ok := <-accepted:
		if ok {
			c.Close()
			t.Fatal("accepted after Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still waits for a slot after Close")
	}
}

// lockedBuffer is a log the service writes and the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveReal runs svc's Serve on ln in real time, outside any synctest
// bubble, until the test ends, and returns its log.
func serveReal(t *testing.T, svc *Service, ln net.Listener) *lockedBuffer {
	t.Helper()
	logs := &lockedBuffer{}
	svc.Logger = slog.New(slog.NewTextHandler(logs, nil))
	j := newJob()
	close(j.release)
	signals, exited := make(chan os.Signal, 1), make(chan error, 1)
	go func() {
		exited <- svc.Serve(Settings{Workspaces: one(every(time.Hour), j.run), ShutdownTimeout: time.Minute}, signals, ln)
	}()
	t.Cleanup(func() {
		signals <- syscall.SIGTERM
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return logs
}

// A keep-alive connection left idle is closed after the idle timeout.
func TestListenerClosesIdleConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveReal(t, newService(nil, func(s *Service) { s.HTTP.IdleTimeout = 200 * time.Millisecond }), ln)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET /healthz: %d, closing %v: want 200 on a connection kept alive", resp.StatusCode, resp.Close)
	}
	// Far longer than the idle timeout, for a loaded machine.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("the idle connection was not closed by the listener: %v after %v", err, time.Since(start))
	}
}

// Listening beyond loopback logs a warning at start; on loopback it does
// not.
func TestListenerWarnsBeyondLoopback(t *testing.T) {
	for _, tt := range []struct {
		address string
		warns   bool
	}{{"127.0.0.1:0", false}, {"0.0.0.0:0", true}} {
		ln, err := net.Listen("tcp", tt.address)
		if err != nil {
			t.Fatal(err)
		}
		svc := newService(nil)
		logs := serveReal(t, svc, ln)
		// The warning comes just before "serving".
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "serving metrics"); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no log line of the listener: %s", tt.address, logs)
			}
		}
		warned := strings.Contains(logs.String(), "level=WARN msg=\"the listener is reachable from other machines") &&
			strings.Contains(logs.String(), "put a reverse proxy with TLS and authentication in front of it")
		if warned != tt.warns {
			t.Errorf("listening on %s: warned %v, want %v: %s", tt.address, warned, tt.warns, logs)
		}
	}
}
