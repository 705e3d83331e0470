// Package davtest starts real CardDAV servers (Radicale, Xandikos) for
// tests, on free loopback ports with storage in temporary folders, through
// internal/servertest: without the server installed a test is skipped,
// unless servertest.EnvVar makes that a failure.
package davtest

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/connect-sync/connect-sync/internal/servertest"
)

// Server is a real CardDAV server started for a test.
type Server struct {
	Name string
	// Root is the server's base URL; Home is where tests create address
	// books (the user's address book home set).
	Root, Home         string
	Username, Password string // empty for a server without authentication

	proc *servertest.Process
}

// StartRadicale runs Radicale with htpasswd authentication (APR1-MD5, the
// htpasswd default, which Debian's Radicale 3.1 reads without extra
// modules) and owner-only rights.
func StartRadicale(t testing.TB) *Server {
	radicale := servertest.RequireBinary(t, "radicale")
	htpasswd := servertest.RequireBinary(t, "htpasswd")
	dir := t.TempDir()
	s := &Server{Name: "radicale", Username: "alice", Password: "s3cret-Passw0rd"}
	users := filepath.Join(dir, "users")
	if out, err := exec.Command(htpasswd, "-c", "-b", "-m", users, s.Username, s.Password).CombinedOutput(); err != nil {
		t.Fatalf("htpasswd: %v: %s", err, out)
	}
	addr := servertest.FreeAddr(t)
	config := filepath.Join(dir, "config")
	servertest.WriteFile(t, config, fmt.Sprintf(`[server]
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
	s.proc = servertest.Start(t, addr, radicale, "--config", config)
	return s
}

// StartXandikos runs Xandikos, which has no authentication of its own,
// with its default principal /user/ and home set /user/contacts/.
func StartXandikos(t testing.TB) *Server {
	xandikos := servertest.RequireBinary(t, "xandikos")
	addr := servertest.FreeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	s := &Server{Name: "xandikos", Root: "http://" + addr}
	s.Home = s.Root + "/user/contacts/"
	s.proc = servertest.Start(t, addr, xandikos, "-d", t.TempDir(), "-l", host, "-p", port, "--defaults")
	return s
}

// Stop kills the server at once, with whatever requests it is serving:
// clients see refused connections until Restart.
func (s *Server) Stop() { s.proc.Stop() }

// Restart starts the server again on the same address with the same
// storage, after Stop, and waits until it listens.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.proc.Restart(t)
}
