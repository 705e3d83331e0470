// Package crashpoint lets the tests signal a real connect-sync process at
// a named point of a run, deterministically: SIGKILL for the crash-safety
// tests, SIGTERM for the graceful-shutdown ones. It does nothing unless
// the CONNECT_SYNC_CRASHPOINT environment variable names a point.
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// EnvVar holds "point", "point:n" (at the n-th time the point is reached,
// counting from 1), either followed by "=TERM", "=INT" or "=HUP" to send
// that signal instead of KILL.
const EnvVar = "CONNECT_SYNC_CRASHPOINT"

var (
	point, nth, sig = parse(os.Getenv(EnvVar))
	hits            atomic.Int64
)

var signalNames = map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP}

func parse(v string) (string, int64, syscall.Signal) {
	v, sigName, _ := strings.Cut(v, "=")
	s, ok := signalNames[sigName]
	if !ok {
		s = syscall.SIGKILL
	}
	name, count, found := strings.Cut(v, ":")
	n, err := strconv.ParseInt(count, 10, 64)
	if !found || err != nil || n < 1 {
		n = 1
	}
	return name, n, s
}

// Hit marks that the run reached the named point. When it is the point the
// environment names, the process gets its signal. SIGKILL is a power cut:
// no deferred function, no flush, no clean close of the state file, so Hit
// waits for it; after any other signal the run goes on, as it would when
// an operator's signal arrived at that moment.
func Hit(name string) {
	if point == "" || name != point || hits.Add(1) != nth {
		return
	}
	syscall.Kill(os.Getpid(), sig)
	if sig == syscall.SIGKILL {
		select {} // the signal is on its way
	}
}
