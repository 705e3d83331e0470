// Package crashpoint lets the tests signal a real connect-sync process at
// a named point of a run, deterministically: SIGKILL for the crash-safety
// tests, SIGTERM for the graceful-shutdown ones. It does nothing unless
// the CONNECT_SYNC_CRASHPOINT environment variable names a point.
//
// The points of a sync run, in the order a batch meets them (the csv
// sink's before-rename comes in its commit, after after-deliver):
//
//   - after-queue: the run's changes are committed to every sink's queue,
//     nothing delivered yet (engine);
//   - mid-batch: a sink has delivered one more change of a batch, none of
//     which is acknowledged yet (each sink's Deliver loop; the csv sink
//     only stages);
//   - before-rename: a file's temporary copy is written and synced, the
//     file itself still old (atomicfile: csv commit, each vCard file);
//   - after-deliver: a sink returned a batch's results, not yet
//     acknowledged in the state file (engine);
//   - after-commit: the csv file is renamed into place, its changes not yet
//     acknowledged (engine).
//
// import-after-create is the importer's: a contact is created in Connect,
// its ledger entry not yet written.
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
// environment names, the process gets its signal. SIGKILL ends the
// process at once: no deferred function, no flush, no clean close of the
// state file (what it wrote survives in the kernel, so this is not a power
// cut, which the fsyncs are for), so Hit waits for it; after any other signal the run goes on, as it would when
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
