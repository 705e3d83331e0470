// Package servertest runs real server programs for tests (CardDAV servers,
// nats-server): it finds the program, picks free loopback ports, and
// starts, kills and restarts the process, keeping its output for a failed
// test. Without the program installed a test is skipped with a message
// saying how to run it, unless EnvVar is 1, which makes that a failure so
// that the test command cannot pass vacuously.
package servertest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// EnvVar, set to 1 (scripts/test.sh does), makes a missing server program
// a failure, for every test against a real server: CardDAV, NATS, and the
// tests that need root. Its name predates the NATS tests.
const EnvVar = "CONNECT_SYNC_DAV_TESTS"

// startTimeout bounds how long a server may take to listen: a loaded
// machine starts Python slowly.
const startTimeout = 2 * time.Minute

// RequireBinary finds a server program, or skips or fails the test.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s is not installed: scripts/test.sh installs it and runs these tests", name)
	if os.Getenv(EnvVar) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// FreeAddr is a loopback address with a port nobody listens on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// WriteFile writes a server's config file, or fails the test.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Process is a running server program, which Stop (from any goroutine: a
// test's handler, say) and Restart (from the test's) control.
type Process struct {
	mu      sync.Mutex
	addr    string
	name    string
	args    []string
	logs    bytes.Buffer // every run's output, for a failed test
	cmd     *exec.Cmd
	exited  chan error
	stopped bool // not running: never started, or killed and waited for
}

// Start runs the program name with args until the test ends, and waits
// until it listens on addr. Its output is logged when the test fails.
func Start(t testing.TB, addr, name string, args ...string) *Process {
	t.Helper()
	p := &Process{addr: addr, name: name, args: args, stopped: true}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s on %s output:\n%s", filepath.Base(name), addr, p.logs.String())
		}
	})
	p.run(t)
	return p
}

// run starts the program and waits until it listens.
func (p *Process) run(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmd = exec.Command(p.name, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.stopped = false
	p.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan<- error) { exited <- cmd.Wait() }(p.cmd, p.exited)
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("%s exited: %v", filepath.Base(p.name), err)
		default:
		}
		if conn, err := net.Dial("tcp", p.addr); err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s", filepath.Base(p.name), p.addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the program at once, as a crash or a power cut would, with
// whatever requests it is serving, and waits until it has exited: clients
// see refused connections until Restart.
func (p *Process) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.stopped = true
}

// Restart starts the program again with the same arguments (so the same
// address and storage), after Stop, and waits until it listens.
func (p *Process) Restart(t testing.TB) {
	t.Helper()
	p.Stop()
	p.run(t)
}
