package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

// The end-to-end tests run the real binary, built once with the race
// detector, against the fake API.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "connect-sync-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "connect-sync")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	// The race detector waits a second before every exit by default, which
	// hundreds of runs of the binary would pay. A race still makes the
	// process exit 66, failing the test that ran it; only a race in a
	// goroutine still running at the exit may go unreported.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testKey = "sk_live_e2e_secret_123"

// workspace is a fake Connect workspace with a config pointing at it.
type workspace struct {
	t      *testing.T
	api    *fakeconnect.Server
	dir    string
	config string
}

func newWorkspace(t *testing.T, contacts int) *workspace {
	t.Helper()
	api := fakeconnect.New(fakeconnect.Options{APIKey: testKey, Contacts: contacts, Seed: 7})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	w := &workspace{t: t, api: api, dir: t.TempDir()}
	w.writeConfig(fmt.Sprintf(`connect:
  base_url: %s
  api_key: ${TEST_API_KEY}
  max_retries: 2
state:
  path: %s
sinks:
  - name: spreadsheet
    type: csv
    path: %s
  - name: cards
    type: vcard-dir
    path: %s
`, srv.URL, w.path("state.db"), w.path("contacts.csv"), w.path("vcards")))
	return w
}

func (w *workspace) path(name string) string { return filepath.Join(w.dir, name) }

func (w *workspace) writeConfig(content string) {
	w.config = w.path("config.yaml")
	if err := os.WriteFile(w.config, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

type result struct {
	stdout, stderr string
	code           int
	killed         bool
}

// run runs connect-sync with the workspace's config and API key, and
// checks that the key appears in none of its output.
func (w *workspace) run(env []string, args ...string) result {
	w.t.Helper()
	if len(args) > 0 && args[0] != "version" {
		args = append(args[:1:1], append([]string{"--config", w.config}, args[1:]...)...)
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir = w.dir // relative paths in a config land in the workspace
	cmd.Env = append(os.Environ(), append([]string{"TEST_API_KEY=" + testKey}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.killed = true
		}
	case err != nil:
		w.t.Fatal(err)
	}
	if strings.Contains(r.stdout+r.stderr, testKey) {
		w.t.Errorf("the API key leaked into the output of %v:\n%s%s", args, r.stdout, r.stderr)
	}
	return r
}

func (w *workspace) mustRun(args ...string) result {
	w.t.Helper()
	r := w.run(nil, args...)
	if r.code != 0 {
		w.t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// assertMirrors checks that both sinks hold exactly the source's contacts.
func (w *workspace) assertMirrors() {
	w.t.Helper()
	want := w.api.IDs()
	slices.SortFunc(want, byNumber)
	rows := readCSV(w.t, w.path("contacts.csv"))
	var csvIDs []string
	for _, row := range rows[1:] {
		csvIDs = append(csvIDs, row[0])
	}
	if !slices.Equal(csvIDs, want) {
		w.t.Errorf("csv ids %v, want %v", csvIDs, want)
	}
	for _, row := range rows[1:] {
		c, _ := w.api.Contact(row[0])
		if row[1] != fmt.Sprint(c["email"]) && c["email"] != nil {
			w.t.Errorf("csv row %s has email %q, source %q", row[0], row[1], c["email"])
		}
	}
	entries, err := os.ReadDir(w.path("vcards"))
	if err != nil {
		w.t.Fatal(err)
	}
	var cardIDs []string
	for _, e := range entries {
		cardIDs = append(cardIDs, strings.TrimSuffix(e.Name(), ".vcf"))
	}
	slices.SortFunc(cardIDs, byNumber)
	if !slices.Equal(cardIDs, want) {
		w.t.Errorf("vcard files %v, want %v", cardIDs, want)
	}
}

// readCSV returns a CSV file's rows, its header first.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func byNumber(a, b string) int {
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return x - y
}

func modTimes(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	times := map[string]int64{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".db") {
			fi, _ := d.Info()
			times[path] = fi.ModTime().UnixNano()
		}
		return nil
	})
	return times
}

func TestSyncEndToEnd(t *testing.T) {
	w := newWorkspace(t, 60)
	r := w.mustRun("sync")
	if !strings.Contains(r.stderr, "created=60") {
		t.Errorf("first run log:\n%s", r.stderr)
	}
	w.assertMirrors()

	before := modTimes(t, w.dir)
	r = w.mustRun("sync")
	if !strings.Contains(r.stderr, "created=0 updated=0 deleted=0") {
		t.Errorf("a run without source changes reported changes:\n%s", r.stderr)
	}
	if after := modTimes(t, w.dir); !maps.Equal(before, after) {
		t.Error("a run without source changes rewrote files")
	}

	ids := w.api.IDs()
	w.api.Edit(ids[0], func(c map[string]any) { c["email"] = "changed@example.com" })
	w.api.Delete(ids[1])
	w.api.Add(map[string]any{"email": "new@example.com", "firstName": "New"})
	r = w.mustRun("sync")
	if !strings.Contains(r.stderr, "created=1 updated=1 deleted=1") {
		t.Errorf("incremental run log:\n%s", r.stderr)
	}
	w.assertMirrors()
}

func TestDryRunWritesNothing(t *testing.T) {
	w := newWorkspace(t, 20)
	r := w.mustRun("sync", "--dry-run")
	if !strings.Contains(r.stdout, "dry run: 20 to create, 0 to update, 0 to delete") {
		t.Errorf("dry run on a fresh state:\n%s", r.stdout)
	}
	if _, err := os.Stat(w.path("state.db")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a dry run created the state file")
	}
	if _, err := os.Stat(w.path("contacts.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a dry run created the csv file")
	}
	w.mustRun("sync")
	state, _ := os.ReadFile(w.path("state.db"))
	files := modTimes(t, w.dir)
	w.api.Edit(w.api.IDs()[2], func(c map[string]any) { c["note"] = "new note" })
	r = w.mustRun("sync", "--dry-run")
	if !strings.Contains(r.stdout, "(note)") || !strings.Contains(r.stdout, "0 to create, 1 to update, 0 to delete") {
		t.Errorf("dry run output:\n%s", r.stdout)
	}
	if after, _ := os.ReadFile(w.path("state.db")); !bytes.Equal(state, after) {
		t.Error("a dry run changed the state file")
	}
	if !maps.Equal(files, modTimes(t, w.dir)) {
		t.Error("a dry run touched the sinks")
	}
}

func TestExitCodesAndMessages(t *testing.T) {
	tests := []struct {
		name   string
		config string // replaces the config when set
		env    []string
		args   []string
		code   int
		want   string
	}{
		{"unknown command", "", nil, []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", "", nil, []string{"sync", "--frob"}, 2, "flag provided but not defined: -frob"},
		{"missing config file", "", nil, []string{"sync", "--config", "/nonexistent/config.yaml"}, 2, "/nonexistent/config.yaml: open"},
		{"unknown sink", "", nil, []string{"sync", "--sink", "nope"}, 2, `no sink named "nope"`},
		{"config error", "connect:\n  api_key: k\nsinks:\n  - name: a\n    type: csvv\n", nil, []string{"sync"}, 2, `config.yaml:5: sinks[0].type: unknown sink type "csvv"`},
		{"missing api key", "connect:\n  base_url: http://127.0.0.1:1\nsinks:\n  - name: a\n    type: csv\n    path: a.csv\n", []string{"CONNECT_API_KEY="}, []string{"sync"}, 2, "no API key"},
		{"rejected api key", "", []string{"TEST_API_KEY=sk_live_wrong"}, []string{"sync"}, 1, "rejected the API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorkspace(t, 3)
			if tt.config != "" {
				w.writeConfig(tt.config)
			}
			r := w.run(tt.env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
			if strings.Contains(r.stderr, "sk_live_wrong") {
				t.Error("the rejected key was printed")
			}
		})
	}
}

func TestDeleteGuard(t *testing.T) {
	w := newWorkspace(t, 40)
	w.mustRun("sync")
	for _, id := range w.api.IDs()[:30] {
		w.api.Delete(id)
	}
	r := w.run(nil, "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "refusing to delete 30 of 40 tracked contacts") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(w.path("vcards")); len(entries) != 40 {
		t.Errorf("the guard let %d cards go", 40-len(entries))
	}
	w.mustRun("sync", "--allow-mass-delete")
	w.assertMirrors()
}

func TestEmptyListDeletesNothing(t *testing.T) {
	w := newWorkspace(t, 5)
	w.mustRun("sync")
	w.api.Fail(fakeconnect.Fault{Endpoint: "/api/connect/contacts", Body: "[]"})
	r := w.run(nil, "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "returned no contacts while 5 are tracked") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	w.assertMirrors()
}

func TestSourceFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault fakeconnect.Fault
		code  int
		want  string
	}{
		{"server error then success", fakeconnect.Fault{Status: 500}, 0, ""},
		{"rate limited then success", fakeconnect.Fault{Status: 429, RetryAfter: "1"}, 0, ""},
		{"truncated body", fakeconnect.Fault{Endpoint: "/api/connect/contacts", Truncate: 3000}, 1, "fetch contacts"},
		{"html page", fakeconnect.Fault{Endpoint: "/api/connect/contacts", Status: 200, Body: "<!DOCTYPE html><html>oops</html>", ContentType: "text/html"}, 1, "fetch contacts"},
		{"not an array", fakeconnect.Fault{Endpoint: "/api/connect/contacts", Body: `{"data": []}`}, 1, "fetch contacts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorkspace(t, 30)
			w.mustRun("sync")
			w.api.Edit(w.api.IDs()[0], func(c map[string]any) { c["note"] = "edited" })
			w.api.Fail(tt.fault)
			r := w.run(nil, "sync")
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d:\n%s", r.code, r.stderr)
			}
			w.assertMirrors() // a failed fetch deleted nothing
			w.mustRun("sync")
			w.assertMirrors()
		})
	}
}

func TestStatusAndReset(t *testing.T) {
	w := newWorkspace(t, 10)
	w.mustRun("sync")
	r := w.mustRun("status", "--json")
	for _, key := range []string{`"last_run"`, `"started_at"`, `"finished_at"`, `"result": "success"`, `"contacts": 10`, `"name": "cards"`, `"delivered": 10`, `"pending": 0`, `"dead_letters": 0`, `"last_error"`, `"last_success_at"`} {
		if !strings.Contains(r.stdout, key) {
			t.Errorf("status --json lacks %s:\n%s", key, r.stdout)
		}
	}
	if r := w.mustRun("status"); !strings.Contains(r.stdout, "contacts tracked: 10") {
		t.Errorf("status:\n%s", r.stdout)
	}
	os.RemoveAll(w.path("vcards"))
	w.mustRun("reset", "--sink", "cards")
	w.mustRun("sync")
	w.assertMirrors()
	if r := w.run(nil, "reset", "--sink", "nope"); r.code != 2 {
		t.Errorf("reset of an unknown sink: exit %d", r.code)
	}
}

func TestNewSinkIsBackfilled(t *testing.T) {
	w := newWorkspace(t, 15)
	config, _ := os.ReadFile(w.config)
	first := strings.Split(string(config), "  - name: cards")[0]
	w.writeConfig(first)
	w.mustRun("sync")
	w.writeConfig(string(config))
	r := w.mustRun("sync")
	if !strings.Contains(r.stderr, `msg="back-filling sink" sink=cards contacts=15`) {
		t.Errorf("log:\n%s", r.stderr)
	}
	w.assertMirrors()
}

func TestCrashPoints(t *testing.T) {
	for _, point := range []string{"after-queue", "after-deliver", "after-commit"} {
		t.Run(point, func(t *testing.T) {
			w := newWorkspace(t, 25)
			w.mustRun("sync")
			ids := w.api.IDs()
			w.api.Edit(ids[0], func(c map[string]any) { c["jobTitle"] = "CTO" })
			w.api.Delete(ids[1])
			w.api.Add(map[string]any{"email": "after-crash@example.com"})
			r := w.run([]string{"CONNECT_SYNC_CRASHPOINT=" + point}, "sync")
			if !r.killed {
				t.Fatalf("the process was not killed at %s: exit %d\n%s", point, r.code, r.stderr)
			}
			w.mustRun("sync")
			w.assertMirrors()
			st := w.mustRun("status", "--json")
			if strings.Count(st.stdout, `"pending": 0`) != 2 {
				t.Errorf("status after recovery:\n%s", st.stdout)
			}
		})
	}
}

func TestSecondProcessIsRefused(t *testing.T) {
	w := newWorkspace(t, 3)
	w.mustRun("sync")
	w.api.Fail(fakeconnect.Fault{Endpoint: "/api/connect/contacts/lead-statuses", Hang: true})
	hung := exec.Command(binary, "sync", "--config", w.config)
	hung.Env = append(os.Environ(), "TEST_API_KEY="+testKey)
	if err := hung.Start(); err != nil {
		t.Fatal(err)
	}
	defer hung.Process.Kill()
	// Wait until the first process holds the state file.
	for !w.heldLock() {
		time.Sleep(10 * time.Millisecond)
	}
	r := w.run(nil, "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "another connect-sync process holds the state file: "+w.path("state.db")) {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
}

// heldLock reports whether the fake API saw the hung request, which the
// first process sends after opening the state file.
func (w *workspace) heldLock() bool {
	n := 0
	for _, r := range w.api.Requests() {
		if r.Path == "/api/connect/contacts/lead-statuses" {
			n++
		}
	}
	return n >= 2
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "demo", "--dir", dir, "--contacts", "40")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"first sync: 40 created", "incremental sync: 1 created, 2 updated, 1 deleted", "spreadsheet: 4 delivered, 0 pending"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "vcards")); len(entries) != 40 {
		t.Errorf("%d vcards", len(entries))
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "connect-sync ") {
		t.Errorf("version: %q, %v", out, err)
	}
}

func TestCheck(t *testing.T) {
	w := newWorkspace(t, 3)
	r := w.mustRun("check")
	for _, want := range []string{`workspace "Demo Workspace"`, "New Lead", "sink spreadsheet (csv): ok", "sink cards (vcard-dir): ok"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, r.stdout)
		}
	}
	os.WriteFile(w.path("contacts.csv"), []byte("name,phone\n"), 0o600)
	if r := w.run(nil, "check"); r.code != 1 || !strings.Contains(r.stdout, "sink spreadsheet:") {
		t.Errorf("check with a foreign csv file: exit %d\n%s", r.code, r.stdout)
	}
}

// TestStateCommandsNeedNoSinkSecrets runs status, reset and redeliver from
// a shell without the variable a sink's secret comes from, as an operator
// does next to a service that has it.
func TestStateCommandsNeedNoSinkSecrets(t *testing.T) {
	w := newWorkspace(t, 3)
	w.mustRun("sync")
	base, _ := os.ReadFile(w.config)
	w.writeConfig(string(base) + "  - name: hook\n    type: webhook\n    url: https://example.com/hook\n    secret: ${CONNECT_SYNC_TEST_HOOK_SECRET}\n")
	for _, args := range [][]string{{"status"}, {"redeliver", "--sink", "cards", "--all"}, {"reset", "--sink", "cards"}} {
		if r := w.run(nil, args...); r.code != 0 {
			t.Errorf("%v without the hook's secret: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	if r := w.run(nil, "sync"); r.code != 2 || !strings.Contains(r.stderr, "CONNECT_SYNC_TEST_HOOK_SECRET is not set") {
		t.Errorf("sync without the hook's secret: exit %d, want 2 naming the variable\n%s", r.code, r.stderr)
	}
}
