package main

// Crash safety: real connect-sync processes killed with SIGKILL at random
// moments and at every named crash point, for every sink type, and file
// sinks on a full disk. After each, the next run must leave every sink
// equal to the source, lose no change, and deliver at least once.

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/connect-sync/connect-sync/internal/atomicfile"
	"github.com/connect-sync/connect-sync/internal/crashpoint"
	"github.com/connect-sync/connect-sync/internal/davtest"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/servertest"
	"github.com/connect-sync/connect-sync/internal/service"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Environment variables of the random-kill test: the seed to replay (the
// test logs the one it used), and how many kills to survive.
const (
	crashSeedEnv  = "CONNECT_SYNC_CRASH_SEED"
	crashKillsEnv = "CONNECT_SYNC_CRASH_KILLS"
)

// TestCrashRandomKills syncs 2,000 contacts to a csv file, a vCard folder
// and a webhook, and 150 to a CardDAV book on Radicale (about 20 PUT/s
// under the race detector, hence the smaller book), killing the process
// with SIGKILL after a random delay drawn from the measured length of a
// run, again and again, while the source changes between runs. At the end
// every sink must equal the source and no change may be lost.
func TestCrashRandomKills(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: real processes killed at random, over and over; runs without -short")
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(crashSeedEnv); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s: %v", crashSeedEnv, err)
		}
	}
	kills := 50
	if v := os.Getenv(crashKillsEnv); v != "" {
		kills, _ = strconv.Atoi(v)
	}
	t.Logf("seed %d (replay with %s=%d)", seed, crashSeedEnv, seed)
	t.Run("files-and-webhook", func(t *testing.T) {
		t.Parallel()
		k := newKillLoop(t, 2000, seed, func(w *workspace, scratch bool) string {
			if scratch {
				return csvSink(w) + vcardSink(w) + webhookSink(discardReceiver(t))
			}
			return csvSink(w) + vcardSink(w) + webhookSink(newCrashReceiver(t, w))
		})
		k.run(kills)
	})
	t.Run("carddav", func(t *testing.T) {
		t.Parallel()
		srv := davtest.StartRadicale(t)
		k := newKillLoop(t, 150, seed+1, func(w *workspace, scratch bool) string {
			if scratch {
				return davSink(srv, srv.Home+"crash-scratch/")
			}
			return davSink(srv, srv.Home+"crash/")
		})
		k.dav = srv
		k.run(max(kills*3/10, 1))
	})
}

// killLoop is one workspace synced by processes that are killed at random.
type killLoop struct {
	t     *testing.T
	w     *workspace
	sinks func(w *workspace, scratch bool) string
	rng   *rand.Rand
	hist  *history
	dav   *davtest.Server
	stats struct{ runs, kills, completed, changes int }
}

// newKillLoop makes the workspace; sinks returns its sinks' config, and
// with scratch those of a workspace that only measures how long a sync
// takes, which must not write where the real one does.
func newKillLoop(t *testing.T, contacts int, seed uint64, sinks func(w *workspace, scratch bool) string) *killLoop {
	w := crashWorkspace(t, contacts, func(w *workspace) string { return sinks(w, false) })
	return &killLoop{t: t, w: w, sinks: sinks, rng: rand.New(rand.NewPCG(seed, 0xc0ffee)), hist: newHistory(w.api)}
}

// run kills sync processes until kills of them died by SIGKILL, then lets
// one finish and checks every sink. The delay before each kill is drawn
// from [0, 1.25 × the last run that finished on its own), first measured
// by a whole sync of the same source into a scratch workspace, so some
// runs finish and the kills spread over every part of a run on any
// machine; after three kills in a row the window grows, so that a long
// backlog finishes too.
func (k *killLoop) run(kills int) {
	t, w := k.t, k.w
	started := time.Now()
	window := k.measure()
	t.Logf("a whole sync takes %v here", window.Round(time.Millisecond))
	inARow := 0
	for k.stats.kills < kills {
		if k.stats.runs > 0 {
			k.stats.changes += k.hist.mutate(k.rng, k.gap())
		}
		delay := time.Duration(k.rng.Int64N(int64(window)*5/4) + 1)
		r, took := w.syncKilledAfter(delay)
		k.stats.runs++
		if r.killed {
			k.stats.kills++
			if inARow++; inARow >= 3 {
				window = window * 3 / 2
			}
			continue
		}
		if r.code != 0 {
			t.Fatalf("run %d ended with exit %d:\n%s", k.stats.runs, r.code, r.stderr)
		}
		k.stats.completed++
		k.hist.sawAll()
		inARow, window = 0, took
	}
	k.stats.changes += k.hist.mutate(k.rng, k.gap())
	if r := w.run(nil, "sync"); r.code != 0 {
		t.Fatalf("the final run: exit %d\n%s", r.code, r.stderr)
	}
	k.hist.sawAll()
	lost := k.verify()
	t.Logf("%d contacts, %d runs: %d killed with SIGKILL, %d finished on their own, then one more; %d changes made at the source between runs; lost: %d; %v",
		len(w.api.IDs()), k.stats.runs, k.stats.kills, k.stats.completed, k.stats.changes, lost, time.Since(started).Round(time.Second))
	if rec := k.receiver(); rec != nil {
		rec.mu.Lock()
		t.Logf("webhook: %d events, %d of them received more than once (%d repeated deliveries), each time with the same webhook-id and body",
			len(rec.bodies), rec.repeatedIDs(), rec.deliveries-len(rec.bodies))
		rec.mu.Unlock()
	}
}

// measure syncs the source once into a scratch workspace and returns how
// long that took.
func (k *killLoop) measure() time.Duration {
	scratch := k.w.sibling(func(s *workspace) string { return k.sinks(s, true) })
	start := time.Now()
	if r := scratch.run(nil, "sync"); r.code != 0 {
		k.t.Fatalf("measuring sync: exit %d\n%s", r.code, r.stderr)
	}
	return time.Since(start)
}

// gap is how many changes the source gets before the next run: mostly a
// few, sometimes a hundred, now and then more than a delivery batch (500).
func (k *killLoop) gap() int {
	n := len(k.w.api.IDs())
	switch p := k.rng.IntN(20); {
	case p < 14:
		return 1 + k.rng.IntN(20)
	case p < 19:
		return n/50 + k.rng.IntN(n/20+1)
	default:
		return n/4 + k.rng.IntN(n/10+1)
	}
}

func (k *killLoop) receiver() *crashReceiver { return receiverOf(k.w) }

// verify checks every sink against the source and the state file, and
// returns how many changes were lost.
func (k *killLoop) verify() int {
	t, w := k.t, k.w
	lost := w.assertStateClean()
	if k.dav != nil {
		lost += assertBookMirrors(t, w, k.dav, k.dav.Home+"crash/")
		return lost
	}
	lost += w.assertFilesMirror()
	lost += k.hist.assertDelivered(t, k.receiver())
	return lost
}

// TestCrashEveryPoint kills a run at each named crash point, for every sink
// type: after the changes are queued, in the middle of a batch, between a
// file's temporary copy and its rename, after a sink delivered but before
// its acknowledgement, and after the csv file's rename. The source changes
// again (the same contacts too, so a queue holds two changes of one
// contact) before the next run, which must leave the sink equal to the
// source with every change delivered at least once.
func TestCrashEveryPoint(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a real process killed at every named point of a run; runs without -short")
	}
	points := map[string][]string{
		"csv":       {"after-queue", "mid-batch:5", "after-deliver", "before-rename", "after-commit"},
		"vcard-dir": {"after-queue", "mid-batch:5", "before-rename:3", "after-deliver"},
		"webhook":   {"after-queue", "mid-batch:5", "after-deliver"},
		"carddav":   {"after-queue", "mid-batch:5", "after-deliver"},
		"nats":      {"after-queue", "mid-batch:5", "after-deliver"},
	}
	for _, typ := range slices.Sorted(maps.Keys(points)) {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			var dav *davtest.Server
			if typ == "carddav" {
				dav = davtest.StartRadicale(t)
			}
			for _, point := range points[typ] {
				t.Run(point, func(t *testing.T) {
					crashAtPoint(t, typ, point, dav)
				})
			}
		})
	}
}

func crashAtPoint(t *testing.T, typ, point string, dav *davtest.Server) {
	var book string
	var bus *natstest.Server
	w := crashWorkspace(t, 30, func(w *workspace) string {
		switch typ {
		case "nats":
			bus = natstest.Start(t)
			return natsSink(bus.URL)
		case "csv":
			return csvSink(w)
		case "vcard-dir":
			return vcardSink(w)
		case "webhook":
			return webhookSink(newCrashReceiver(t, w))
		}
		book = dav.Home + strings.NewReplacer(":", "-", "/", "-").Replace(point) + "/"
		return davSink(dav, book)
	})
	hist := newHistory(w.api)
	syncOK := func() {
		t.Helper()
		if r := w.run(nil, "sync"); r.code != 0 {
			t.Fatalf("sync: exit %d\n%s", r.code, r.stderr)
		}
		hist.sawAll()
	}
	syncOK()
	ids := w.api.IDs()
	for _, id := range ids[:4] {
		hist.edit(id, true)
	}
	for _, id := range ids[4:6] {
		hist.touch(id)
	}
	for _, id := range ids[6:8] {
		hist.delete(id)
	}
	for range 4 {
		hist.add()
	}
	r := w.run([]string{crashpoint.EnvVar + "=" + point}, "sync")
	if !r.killed {
		t.Fatalf("not killed at %s: exit %d\n%s", point, r.code, r.stderr)
	}
	// Two of the contacts change again, and one more is added and another
	// deleted; then the run that recovers.
	hist.edit(ids[0], false)
	hist.touch(ids[1])
	hist.delete(ids[9])
	hist.add()
	syncOK()

	w.assertStateClean()
	switch typ {
	case "csv", "vcard-dir":
		w.assertFilesMirror()
	case "webhook":
		rec := receiverOf(w)
		hist.assertDelivered(t, rec)
		if strings.HasPrefix(point, "mid-batch") || point == "after-deliver" {
			rec.mu.Lock()
			if rec.repeatedIDs() == 0 {
				t.Errorf("killed at %s, after events went out unacknowledged, yet no event came twice", point)
			}
			rec.mu.Unlock()
		}
	case "carddav":
		assertBookMirrors(t, w, dav, book)
	case "nats":
		// The stream drops the events published again: no repeats to see.
		msgs := natstest.Messages(t, natstest.Connect(t, bus.URL), "CONNECT")
		hist.assertDelivered(t, streamEvents(t, msgs))
	}
}

// TestCrashDiskFull fills the file system of a csv file and a vCard folder
// (a small tmpfs) while a webhook keeps working: the run fails naming each
// file sink and its path, nothing of theirs is marked delivered, the webhook
// gets everything. With room for a few cards, exactly the cards written
// are marked delivered. The run after space returns completes.
func TestCrashDiskFull(t *testing.T) {
	disk := mountTmpfs(t, "4m")
	w := crashWorkspace(t, 200, func(w *workspace) string {
		return fmt.Sprintf(`  - name: spreadsheet
    type: csv
    path: %s
  - name: cards
    type: vcard-dir
    path: %s
`, filepath.Join(disk, "contacts.csv"), filepath.Join(disk, "vcards")) + webhookSink(newCrashReceiver(t, w))
	})
	rec := receiverOf(w)
	hist := newHistory(w.api)
	w.mustRun("sync")
	hist.sawAll()
	csvBefore, err := os.ReadFile(filepath.Join(disk, "contacts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	cardsBefore := readDir(t, filepath.Join(disk, "vcards"))

	filler := fill(t, disk)
	ids := w.api.IDs()
	for _, id := range ids[:10] {
		hist.edit(id, true)
	}
	for range 5 {
		hist.add()
	}
	r := w.run(nil, "sync")
	if r.code != 1 {
		t.Fatalf("sync on a full disk: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("on a full disk:\n%s", r.stderr)
	for _, want := range []string{
		"sink spreadsheet: 15 pending", filepath.Join(disk, "contacts.csv"),
		"sink cards: 15 pending", filepath.Join(disk, "vcards"),
		"no space left on device",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the error does not say %q:\n%s", want, r.stderr)
		}
	}
	st := w.status()
	for _, s := range st.Sinks {
		want := map[string]int{"spreadsheet": 15, "cards": 15, "hook": 0}[s.Name]
		if s.Pending != want || s.DeadLetters != 0 {
			t.Errorf("sink %s after the full disk: %d pending, %d dead letters; want %d pending, none dead", s.Name, s.Pending, s.DeadLetters, want)
		}
		if want > 0 && !strings.Contains(s.LastError, "no space left on device") {
			t.Errorf("sink %s: status shows last error %q", s.Name, s.LastError)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(disk, "contacts.csv")); !bytes.Equal(after, csvBefore) {
		t.Error("the csv file changed on a full disk")
	}
	if after := readDir(t, filepath.Join(disk, "vcards")); !maps.Equal(after, cardsBefore) {
		t.Error("the vCard folder changed on a full disk")
	}
	assertNoTempFiles(t, disk)
	hist.sawAll()
	hist.assertDelivered(t, rec) // the webhook went on

	// Room for a few pages: some cards fit. Each card on disk that is not
	// the source's must still be pending. Only the cards are delivered, so
	// that the csv file's temporary copy cannot take those pages first.
	if err := os.Truncate(filler, fileSize(t, filler)-3*4096); err != nil {
		t.Fatal(err)
	}
	if r := w.run(nil, "sync", "--sink", "cards"); r.code != 1 || !strings.Contains(r.stderr, "no space left on device") {
		t.Fatalf("sync on an almost full disk: exit %d\n%s", r.code, r.stderr)
	}
	ref := w.sibling(vcardSink)
	ref.mustRun("sync")
	want, got := readDir(t, ref.path("vcards")), readDir(t, filepath.Join(disk, "vcards"))
	stale := 0
	for name, card := range want {
		if got[name] != card {
			stale++
		}
	}
	for _, s := range w.status().Sinks {
		if want := map[string]int{"spreadsheet": 15, "cards": stale, "hook": 0}[s.Name]; s.Pending != want {
			t.Errorf("sink %s on an almost full disk: %d pending, want %d", s.Name, s.Pending, want)
		}
	}
	t.Logf("on an almost full disk %d of 15 cards were written and acknowledged, %d stay pending", 15-stale, stale)
	if stale == 0 || stale == 15 {
		t.Errorf("%d of 15 cards were not written on an almost full disk: the test wants some written, some not", stale)
	}
	assertNoTempFiles(t, disk)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	w.mustRun("sync")
	hist.sawAll()
	w.assertStateClean()
	w.assertFilesMirror()
	hist.assertDelivered(t, rec)
}

// mountTmpfs mounts a tmpfs of the size for the test. Mounting takes root;
// without it the test is skipped, unless CONNECT_SYNC_DAV_TESTS=1 (set by
// scripts/test.sh, which runs as root in CI) makes that a failure.
func mountTmpfs(t *testing.T, size string) string {
	dir, err := tryTmpfs(t, size)
	if err != nil {
		msg := "cannot mount a tmpfs (needs root): " + err.Error()
		if os.Getenv(servertest.EnvVar) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// crashDir is a folder for a workspace: a tmpfs when the test may mount
// one, else a temporary folder. A SIGKILL loses nothing the kernel was
// given, on any file system; on a tmpfs the fsyncs cost nothing, which
// keeps thousands of file writes fast on a slow disk.
func crashDir(t *testing.T) string {
	if dir, err := tryTmpfs(t, "1g"); err == nil {
		return dir
	}
	return t.TempDir()
}

func tryTmpfs(t *testing.T, size string) (string, error) {
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir, nil
}

// fill writes a file into dir until the file system is full.
func fill(t *testing.T, dir string) string {
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// crashWorkspace is newWorkspace with the sinks that sinks returns (YAML
// list items) in place of the default ones.
func crashWorkspace(t *testing.T, contacts int, sinks func(*workspace) string) *workspace {
	w := newWorkspace(t, contacts)
	head, statePath := w.configHead(), w.path("state.db")
	w.dir = crashDir(t)
	w.writeConfig(strings.Replace(head, statePath, w.path("state.db"), 1) + sinks(w))
	return w
}

// configHead is the workspace's config up to its list of sinks.
func (w *workspace) configHead() string {
	config, err := os.ReadFile(w.config)
	if err != nil {
		w.t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(config), "sinks:\n")
	return head + "sinks:\n"
}

func (w *workspace) sinksYAML() string {
	config, _ := os.ReadFile(w.config)
	_, sinks, _ := strings.Cut(string(config), "sinks:\n")
	return sinks
}

// sibling is a workspace on the same fake API with a state file of its
// own and the sinks that sinks returns.
func (w *workspace) sibling(sinks func(*workspace) string) *workspace {
	s := &workspace{t: w.t, api: w.api, dir: crashDir(w.t)}
	s.writeConfig(strings.Replace(w.configHead(), w.path("state.db"), s.path("state.db"), 1) + sinks(s))
	return s
}

func csvSink(w *workspace) string {
	return fmt.Sprintf("  - name: spreadsheet\n    type: csv\n    path: %s\n", w.path("contacts.csv"))
}

func vcardSink(w *workspace) string {
	return fmt.Sprintf("  - name: cards\n    type: vcard-dir\n    path: %s\n", w.path("vcards"))
}

func webhookSink(url string) string {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte(webhookKey))
	return fmt.Sprintf("  - name: hook\n    type: webhook\n    url: %s\n    secret: %s\n    max_retries: 0\n", url, secret)
}

// syncKilledAfter runs sync and kills it with SIGKILL after delay unless it
// ended before, and returns how long it ran.
func (w *workspace) syncKilledAfter(delay time.Duration) (result, time.Duration) {
	w.t.Helper()
	cmd := exec.Command(binary, "sync", "--config", w.config)
	cmd.Env = append(os.Environ(), "TEST_API_KEY="+testKey)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
	err := cmd.Wait()
	took := time.Since(start)
	timer.Stop()
	r := result{stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
		ws, ok := exit.Sys().(syscall.WaitStatus)
		r.killed = ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
	case err != nil:
		w.t.Fatal(err)
	}
	return r, took
}

// status returns what `status --json` says about the config's only
// workspace.
func (w *workspace) status() state.Status {
	w.t.Helper()
	var st service.Status
	r := w.mustRun("status", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Workspaces) != 1 {
		w.t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	return st.Workspaces[0]
}

// assertStateClean checks that the state file passes bbolt's consistency
// check, that `status` reads it, and that no sink has anything pending or
// dead. It returns the count of changes pending or dead.
func (w *workspace) assertStateClean() int {
	w.t.Helper()
	db, err := bolt.Open(w.path("state.db"), 0o600, &bolt.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if err != nil {
		w.t.Fatalf("open the state file: %v", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	db.Close()
	if err != nil {
		w.t.Errorf("the state file is inconsistent: %v", err)
	}
	st := w.status()
	if st.LastRun == nil || st.LastRun.Result != state.RunSucceeded {
		w.t.Errorf("last run: %+v", st.LastRun)
	}
	if st.Contacts != len(w.api.IDs()) {
		w.t.Errorf("status: %d contacts tracked, the source has %d", st.Contacts, len(w.api.IDs()))
	}
	left := 0
	for _, s := range st.Sinks {
		if s.Pending != 0 || s.DeadLetters != 0 || s.LastError != "" {
			w.t.Errorf("sink %s: %d pending, %d dead letters, last error %q", s.Name, s.Pending, s.DeadLetters, s.LastError)
		}
		left += s.Pending + s.DeadLetters
	}
	return left
}

// assertFilesMirror checks the workspace's csv file and vCard folder (those
// of its sinks it has) against a sync of the source into a new workspace:
// byte for byte, and the csv rows against the source's ids, notes and
// activity times. It returns the count of contacts that differ.
func (w *workspace) assertFilesMirror() int {
	w.t.Helper()
	wantIDs := w.api.IDs()
	slices.SortFunc(wantIDs, byNumber)
	// The same sinks, at other paths: what the source looks like to a
	// sync that never crashed.
	ref := w.sibling(func(ref *workspace) string {
		var sinks string
		if w.csvPath() != "" {
			sinks += csvSink(ref)
		}
		if w.vcardPath() != "" {
			sinks += vcardSink(ref)
		}
		return sinks
	})
	ref.mustRun("sync")
	bad := 0
	if path := w.csvPath(); path != "" {
		got, want := readFile(w.t, path), readFile(w.t, ref.path("contacts.csv"))
		if got != want {
			w.t.Errorf("the csv file differs from a clean sync's:\n%s", firstDiff(got, want))
		}
		bad += checkCSV(w.t, w.api, got, wantIDs)
	}
	if dir := w.vcardPath(); dir != "" {
		got, want := readDir(w.t, dir), readDir(w.t, ref.path("vcards"))
		for name, card := range want {
			if got[name] != card {
				bad++
				w.t.Errorf("vCard %s differs from a clean sync's:\n%s", name, firstDiff(got[name], card))
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				bad++
				w.t.Errorf("vCard %s is left over", name)
			}
		}
		assertNoTempFiles(w.t, dir)
	}
	if path := w.csvPath(); path != "" {
		assertNoTempFiles(w.t, filepath.Dir(path))
	}
	return bad
}

// csvPath and vcardPath are the paths of the workspace's file sinks, empty
// when it has none.
func (w *workspace) csvPath() string   { return sinkPath(w.sinksYAML(), "csv") }
func (w *workspace) vcardPath() string { return sinkPath(w.sinksYAML(), "vcard-dir") }

func sinkPath(sinks, typ string) string {
	for item := range strings.SplitSeq(sinks, "  - name: ") {
		if strings.Contains(item, "type: "+typ+"\n") {
			_, path, _ := strings.Cut(item, "path: ")
			path, _, _ = strings.Cut(path, "\n")
			return path
		}
	}
	return ""
}

// checkCSV compares the file's rows with the source, independently of the
// sink's encoder: the ids, and each contact's note and lastActivityAt.
func checkCSV(t *testing.T, api *fakeconnect.Server, file string, wantIDs []string) int {
	rows, err := csv.NewReader(strings.NewReader(file)).ReadAll()
	if err != nil {
		t.Errorf("the csv file does not parse: %v", err)
		return len(wantIDs)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	var ids []string
	bad := 0
	for _, row := range rows[1:] {
		ids = append(ids, row[0])
		c, _ := api.Contact(row[0])
		note, at := textOf(c["note"]), textOf(c["lastActivityAt"])
		if strings.HasPrefix(note, "crash ") && row[col["note"]] != note || row[col["lastActivityAt"]] != at {
			bad++
			t.Errorf("csv row %s: note %q, lastActivityAt %q; the source has %q, %q", row[0], row[col["note"]], row[col["lastActivityAt"]], note, at)
		}
	}
	if !slices.Equal(ids, wantIDs) {
		missing := len(slices.DeleteFunc(slices.Clone(wantIDs), func(id string) bool { return slices.Contains(ids, id) }))
		bad += missing
		t.Errorf("csv has %d rows, the source %d contacts (%d missing)", len(ids), len(wantIDs), missing)
	}
	return bad
}

// assertBookMirrors checks that the address book holds exactly one card per
// source contact, each byte for byte the card a clean sync writes into a
// vCard folder (the two sinks write the same cards). It returns the count
// of contacts whose card is missing or wrong.
func assertBookMirrors(t *testing.T, w *workspace, srv *davtest.Server, book string) int {
	ref := w.sibling(vcardSink)
	ref.mustRun("sync")
	want := map[string]string{} // contact id → card
	for name, card := range readDir(t, ref.path("vcards")) {
		want[strings.TrimSuffix(name, ".vcf")] = card
	}
	got := map[string][]string{}
	for _, href := range listCards(t, srv, book) {
		card := getCard(t, srv, href)
		id := fieldOf(card, "X-CONNECT-ID")
		got[id] = append(got[id], card)
	}
	bad := 0
	for id, card := range want {
		switch cards := got[id]; {
		case len(cards) != 1:
			bad++
			t.Errorf("contact %s has %d cards in the book, want 1", id, len(cards))
		case normalizeCard(cards[0]) != normalizeCard(card):
			bad++
			t.Errorf("contact %s: the card in the book differs from a clean sync's:\n%s", id, firstDiff(cards[0], card))
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			bad++
			t.Errorf("the book has a card for contact %s, which the source does not have", id)
		}
	}
	return bad
}

// normalizeCard undoes what a server may do to a card it stores without
// changing it: line ends, and the order of properties.
func normalizeCard(card string) string {
	lines := strings.Split(strings.ReplaceAll(card, "\r\n", "\n"), "\n")
	slices.Sort(lines)
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func fieldOf(card, name string) string {
	for line := range strings.SplitSeq(strings.ReplaceAll(card, "\r\n", "\n"), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	return ""
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readDir returns the files of a folder by name.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		files[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
	}
	return files
}

// firstDiff shows where two texts first differ.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(i-80, 0)
	return fmt.Sprintf("at byte %d:\n got  …%q\n want …%q", i, got[lo:min(i+80, len(got))], want[lo:min(i+80, len(want))])
}

// textOf is a contact field as text, "" when absent or null.
func textOf(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// history is every version each contact has had at the source, so that
// what a webhook receiver got can be checked against it: a version is the
// contact's note and lastActivityAt (each change the tests make gives a
// new pair), or "deleted".
type history struct {
	api      *fakeconnect.Server
	versions map[string][]string        // contact id → versions, oldest first
	required map[string]map[string]bool // versions a finished run saw
	notes    int
}

const deleted = "deleted"

func newHistory(api *fakeconnect.Server) *history {
	h := &history{api: api, versions: map[string][]string{}, required: map[string]map[string]bool{}}
	for _, id := range api.IDs() {
		h.record(id)
	}
	return h
}

func versionOf(c map[string]any) string {
	return textOf(c["note"]) + "|" + textOf(c["lastActivityAt"])
}

// record notes the contact's current version.
func (h *history) record(id string) {
	v := deleted
	if c, ok := h.api.Contact(id); ok {
		v = versionOf(c)
	}
	h.versions[id] = append(h.versions[id], v)
}

// edit gives the contact a new note, and a new lastActivityAt if touch;
// without touch only the content hash tells the change.
func (h *history) edit(id string, touch bool) {
	h.notes++
	note := fmt.Sprintf("crash note %d", h.notes)
	h.api.Edit(id, func(c map[string]any) { c["note"] = note })
	if touch {
		h.api.Touch(id)
	}
	h.record(id)
}

func (h *history) touch(id string) {
	h.api.Touch(id)
	h.record(id)
}

func (h *history) delete(id string) {
	h.api.Delete(id)
	h.record(id)
}

func (h *history) add() {
	h.notes++
	id := h.api.Add(map[string]any{
		"email":     fmt.Sprintf("crash%d@example.com", h.notes),
		"firstName": "Crash", "lastName": strconv.Itoa(h.notes),
		"note": fmt.Sprintf("crash note %d", h.notes), "createdAt": "2026-01-01T00:00:00Z",
	})
	h.api.Touch(id)
	h.record(id)
}

// mutate makes n random changes (edits, touches, deletions, additions) and
// returns n.
func (h *history) mutate(rng *rand.Rand, n int) int {
	for range n {
		ids := h.api.IDs()
		id := ids[rng.IntN(len(ids))]
		switch p := rng.IntN(20); {
		case p < 8:
			h.edit(id, false)
		case p < 12:
			h.touch(id)
		case p < 15:
			h.edit(id, true)
		case p < 17:
			h.delete(id)
		default:
			h.add()
		}
	}
	return n
}

// sawAll marks every contact's current version as one a run that finished
// saw, so it must have been delivered; a deletion only for a contact such a
// run saw before (one added and deleted while runs were killed may never
// have been tracked).
func (h *history) sawAll() {
	for id, vs := range h.versions {
		v := vs[len(vs)-1]
		if h.required[id] == nil {
			h.required[id] = map[string]bool{}
		}
		if v != deleted || len(h.required[id]) > 0 {
			h.required[id][v] = true
		}
	}
}

// assertDelivered checks what the receiver got: every version a finished
// run saw arrived, each contact's events arrived in the order of its
// versions and name real versions, and each event id always came with the
// same body. It returns the count of versions that never arrived.
func (h *history) assertDelivered(t *testing.T, rec *crashReceiver) int {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, m := range rec.mismatches {
		t.Error(m)
	}
	got := map[string][]hookEvent{}
	for _, e := range rec.events {
		got[e.contact] = append(got[e.contact], e)
	}
	lost := 0
	for id, versions := range h.versions {
		last := -1
		seen := map[string]bool{}
		for i, e := range got[id] {
			at := slices.Index(versions, e.version)
			switch {
			case at < 0:
				t.Errorf("contact %s: event %s carries version %q, which the contact never had (%q)", id, e.id, e.version, versions)
			case at <= last:
				t.Errorf("contact %s: event %s (%s) arrived after a later version; versions %q, events %v", id, e.id, e.version, versions, got[id])
			case i == 0 && e.kind != "contact.created", e.version == deleted && e.kind != "contact.deleted":
				t.Errorf("contact %s: event %s is a %s", id, e.id, e.kind)
			}
			last = max(last, at)
			seen[e.version] = true
		}
		for v := range h.required[id] {
			if !seen[v] {
				lost++
				t.Errorf("contact %s: version %q never reached the webhook; events %v", id, v, got[id])
			}
		}
	}
	return lost
}

// crashReceiver is a webhook endpoint that checks signatures and keeps
// every event's body, to tell whether a repeated webhook-id came with the
// same body.
type crashReceiver struct {
	t          *testing.T
	mu         sync.Mutex
	bodies     map[string][]byte // webhook-id → body
	counts     map[string]int    // webhook-id → deliveries
	deliveries int
	events     []hookEvent // first deliveries, in arrival order
	mismatches []string
}

type hookEvent struct {
	id, kind, contact, version string
}

// receivers finds the receiver of a workspace.
var (
	receiversMu sync.Mutex
	receivers   = map[*workspace]*crashReceiver{}
)

func receiverOf(w *workspace) *crashReceiver {
	receiversMu.Lock()
	defer receiversMu.Unlock()
	return receivers[w]
}

// discardReceiver acknowledges every request and keeps nothing.
func discardReceiver(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// newCrashReceiver starts a receiver for the workspace and returns its URL.
func newCrashReceiver(t *testing.T, w *workspace) string {
	r := &crashReceiver{t: t, bodies: map[string][]byte{}, counts: map[string]int{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	receiversMu.Lock()
	receivers[w] = r
	receiversMu.Unlock()
	t.Cleanup(func() {
		receiversMu.Lock()
		delete(receivers, w)
		receiversMu.Unlock()
	})
	return srv.URL
}

func (r *crashReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the sender died mid-request
	}
	id := req.Header.Get("webhook-id")
	if !signedWithTestKey(req, body) {
		r.t.Errorf("bad signature on %s", id)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e struct {
		Type string
		Data struct{ Contact map[string]any }
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&e); err != nil {
		r.t.Errorf("body of %s: %v", id, err)
	}
	version := versionOf(e.Data.Contact)
	if e.Type == "contact.deleted" {
		version = deleted
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliveries++
	r.counts[id]++
	if first, ok := r.bodies[id]; ok {
		if !bytes.Equal(first, body) {
			r.mismatches = append(r.mismatches, fmt.Sprintf("event %s came again with another body:\n%s\n%s", id, first, body))
		}
	} else {
		r.bodies[id] = body
		r.events = append(r.events, hookEvent{id: id, kind: e.Type, contact: textOf(e.Data.Contact["id"]), version: version})
	}
	w.WriteHeader(http.StatusNoContent)
}

// repeatedIDs counts the events delivered more than once. The caller holds
// r.mu.
func (r *crashReceiver) repeatedIDs() int {
	n := 0
	for _, c := range r.counts {
		if c > 1 {
			n++
		}
	}
	return n
}
