// Package crashpoint lets the crash-safety tests kill a real connect-sync
// process at a named point of a run, deterministically. It does nothing
// unless the CONNECT_SYNC_CRASHPOINT environment variable names a point.
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// EnvVar holds "point" or "point:n" (crash at the n-th time the point is
// reached, counting from 1).
const EnvVar = "CONNECT_SYNC_CRASHPOINT"

var (
	point, nth = parse(os.Getenv(EnvVar))
	hits       atomic.Int64
)

func parse(v string) (string, int64) {
	name, count, found := strings.Cut(v, ":")
	n, err := strconv.ParseInt(count, 10, 64)
	if !found || err != nil || n < 1 {
		n = 1
	}
	return name, n
}

// Hit marks that the run reached the named point. When it is the point the
// environment names, the process gets SIGKILL, as in a power cut: no
// deferred function, no flush, no clean close of the state file.
func Hit(name string) {
	if point == "" || name != point || hits.Add(1) != nth {
		return
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
