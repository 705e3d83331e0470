package service

import (
	"errors"
	"net"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// TestSystemdNotifications listens where systemd would and checks what
// the service tells it over a life, and when: ready, status, watchdog
// pings at half the watchdog interval, reload, stop.
func TestSystemdNotifications(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", socket)
	t.Setenv("WATCHDOG_USEC", "30000000") // 30 s
	synctest.Test(t, func(t *testing.T) {
		// sent checks what the service sent since it was last called, once
		// it has settled.
		sent := func(want ...string) {
			t.Helper()
			synctest.Wait()
			if got := received(t, conn); !slices.Equal(got, want) {
				t.Errorf("sent %q, want %q", got, want)
			}
		}
		j := newJob()
		reload := func() (Settings, error) { return Settings{}, errors.New("bad config") }
		h := start(t, Settings{Workspaces: one(every(time.Hour), j.run), RunOnStart: true}, reload)
		sent("READY=1", "STATUS=Syncing")
		j.release <- struct{}{}
		sent("STATUS=Last run " + time.Now().Format(time.TimeOnly) + ": 1 created, 0 updated, 0 deleted")
		time.Sleep(15*time.Second - time.Nanosecond)
		sent()
		time.Sleep(time.Nanosecond)
		sent("WATCHDOG=1")
		time.Sleep(15 * time.Second)
		sent("WATCHDOG=1")
		h.signals <- syscall.SIGHUP
		sent("RELOADING=1", "READY=1")
		h.signals <- syscall.SIGTERM
		if err := h.returnsAfter(0); err != nil {
			t.Fatal(err)
		}
		sent("STOPPING=1")
	})
}

// received returns the datagrams waiting on conn without waiting for more:
// a read blocked on a socket would keep a synctest bubble's clock from
// advancing, and what the service sent is there once it has settled, as a
// unix datagram is queued at the receiver when it is sent.
func received(t *testing.T, conn *net.UnixConn) []string {
	t.Helper()
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, 4096)
	for {
		var n int
		var rerr error
		err := raw.Read(func(fd uintptr) bool {
			n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true // whatever it read, as it must not wait
		})
		switch {
		case err != nil:
			t.Fatal(err)
		case errors.Is(rerr, syscall.EAGAIN):
			return got
		case rerr != nil:
			t.Fatal(rerr)
		}
		got = append(got, string(buf[:n]))
	}
}
