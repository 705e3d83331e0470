package service

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemdNotifications listens where systemd would and checks what
// the service tells it over a life: ready, status, watchdog, reload, stop.
func TestSystemdNotifications(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", socket)
	t.Setenv("WATCHDOG_USEC", "20000")
	messages := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(messages)
				return
			}
			messages <- string(buf[:n])
		}
	}()
	// next waits for a message, skipping watchdog pings unless asked for.
	next := func(want string) {
		t.Helper()
		for {
			select {
			case m := <-messages:
				if strings.HasPrefix(m, want) {
					return
				}
				if m != "WATCHDOG=1" && !strings.HasPrefix(m, "STATUS=") {
					t.Fatalf("got %q while waiting for %q", m, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %q", want)
			}
		}
	}

	j := newJob()
	reload := func() (Settings, error) { return Settings{}, errors.New("bad config") }
	h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, reload)
	next("READY=1")
	next("STATUS=Syncing")
	j.release <- struct{}{}
	next("STATUS=Last run ")
	next("WATCHDOG=1")
	h.signals <- syscall.SIGHUP
	next("RELOADING=1")
	next("READY=1")
	h.signals <- syscall.SIGTERM
	next("STOPPING=1")
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}
