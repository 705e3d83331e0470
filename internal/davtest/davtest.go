// Package davtest starts real CardDAV servers (Radicale, Xandikos) for
// tests, on free loopback ports with storage in temporary folders. Without
// the server installed a test is skipped with a message saying how to run
// it, unless CONNECT_SYNC_DAV_TESTS=1 (set by scripts/test.sh) makes that a
// failure, so the test command cannot pass vacuously.
package davtest

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

// EnvVar, set to 1, makes a missing server binary a failure.
const EnvVar = "CONNECT_SYNC_DAV_TESTS"

// Server is a real CardDAV server started for a test.
type Server struct {
	Name string
	// Root is the server's base URL; Home is where tests create address
	// books (the user's address book home set).
	Root, Home         string
	Username, Password string // empty for a server without authentication

	proc *process
}

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

// StartRadicale runs Radicale with htpasswd authentication (APR1-MD5, the
// htpasswd default, which Debian's Radicale 3.1 reads without extra
// modules) and owner-only rights.
func StartRadicale(t testing.TB) *Server {
	radicale := RequireBinary(t, "radicale")
	htpasswd := RequireBinary(t, "htpasswd")
	dir := t.TempDir()
	s := &Server{Name: "radicale", Username: "alice", Password: "s3cret-Passw0rd"}
	users := filepath.Join(dir, "users")
	if out, err := exec.Command(htpasswd, "-c", "-b", "-m", users, s.Username, s.Password).CombinedOutput(); err != nil {
		t.Fatalf("htpasswd: %v: %s", err, out)
	}
	addr := freeAddr(t)
	config := filepath.Join(dir, "config")
	writeFile(t, config, fmt.Sprintf(`[server]
hosts = %s
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = md5
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[web]
type = none
[logging]
level = warning
`, addr, users, filepath.Join(dir, "collections")))
	s.Root = "http://" + addr
	s.Home = s.Root + "/" + s.Username + "/"
	s.proc = start(t, addr, radicale, "--config", config)
	return s
}

// StartXandikos runs Xandikos, which has no authentication of its own,
// with its default principal /user/ and home set /user/contacts/.
func StartXandikos(t testing.TB) *Server {
	xandikos := RequireBinary(t, "xandikos")
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	s := &Server{Name: "xandikos", Root: "http://" + addr}
	s.Home = s.Root + "/user/contacts/"
	s.proc = start(t, addr, xandikos, "-d", t.TempDir(), "-l", host, "-p", port, "--defaults")
	return s
}

// freeAddr is a loopback address with a port nobody listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// process is a running server program, which Stop (from any goroutine: a
// test's handler, say) and Restart (from the test's) control.
type process struct {
	mu      sync.Mutex
	addr    string
	name    string
	args    []string
	logs    bytes.Buffer // every run's output, for a failed test
	cmd     *exec.Cmd
	exited  chan error
	stopped bool // not running: never started, or killed and waited for
}

// start runs a server until the test ends and waits until it listens on
// addr. The wait is long: a loaded machine starts Python slowly.
func start(t testing.TB, addr, name string, args ...string) *process {
	t.Helper()
	p := &process{addr: addr, name: name, args: args, stopped: true}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), p.logs.String())
		}
	})
	p.run(t)
	return p
}

// run starts the program and waits until it listens.
func (p *process) run(t testing.TB) {
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
	deadline := time.Now().Add(2 * time.Minute)
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
		time.Sleep(100 * time.Millisecond)
	}
}

// stop kills the program, as a crash or a power cut would, and waits
// until it has exited.
func (p *process) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.stopped = true
}

// Stop kills the server at once, with whatever requests it is serving:
// clients see refused connections until Restart.
func (s *Server) Stop() { s.proc.stop() }

// Restart starts the server again on the same address with the same
// storage, after Stop, and waits until it listens.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.proc.stop()
	s.proc.run(t)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
