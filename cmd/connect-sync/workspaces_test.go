package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/connect-sync/connect-sync/internal/fakeconnect"
	"github.com/connect-sync/connect-sync/internal/service"
)

// twoWorkspaces is a config with two workspaces, acme and globex, each
// with its own fake API, CSV file and vCard folder, in one state file.
type twoWorkspaces struct {
	*workspace
	acme, globex *fakeconnect.Server
}

func newTwoWorkspaces(t *testing.T) *twoWorkspaces {
	t.Helper()
	w := &twoWorkspaces{workspace: &workspace{t: t, dir: t.TempDir()}}
	serve := func(n int, seed int64) (*fakeconnect.Server, string) {
		api := fakeconnect.New(fakeconnect.Options{APIKey: testKey, Contacts: n, Seed: seed})
		srv := httptest.NewServer(api)
		t.Cleanup(srv.Close)
		return api, srv.URL
	}
	var acmeURL, globexURL string
	w.acme, acmeURL = serve(40, 1)
	w.globex, globexURL = serve(25, 2)
	config := fmt.Sprintf("state:\n  path: %s\nworkspaces:\n", w.path("state.db"))
	for _, ws := range []struct{ name, url string }{{"acme", acmeURL}, {"globex", globexURL}} {
		config += fmt.Sprintf(`  - name: %[1]s
    connect:
      base_url: %[2]s
      api_key: ${TEST_API_KEY}
      max_retries: 0
    sinks:
      - name: spreadsheet
        type: csv
        path: %[3]s
      - name: cards
        type: vcard-dir
        path: %[4]s
`, ws.name, ws.url, w.path(ws.name+".csv"), w.path(ws.name+"-vcards"))
	}
	w.writeConfig(config)
	return w
}

// ids returns the contact ids in a workspace's CSV file, sorted.
func (w *twoWorkspaces) ids(name string) []string {
	w.t.Helper()
	var ids []string
	for _, row := range readCSV(w.t, w.path(name+".csv"))[1:] {
		ids = append(ids, row[0])
	}
	slices.SortFunc(ids, byNumber)
	return ids
}

// assertMirrors checks that a workspace's sinks hold its API's contacts.
func (w *twoWorkspaces) assertMirrors(name string, api *fakeconnect.Server) {
	w.t.Helper()
	want := api.IDs()
	slices.SortFunc(want, byNumber)
	if got := w.ids(name); !slices.Equal(got, want) {
		w.t.Errorf("%s.csv holds %v, want %v", name, got, want)
	}
	entries, err := os.ReadDir(w.path(name + "-vcards"))
	if err != nil {
		w.t.Fatal(err)
	}
	if len(entries) != len(want) {
		w.t.Errorf("%s-vcards holds %d cards, want %d", name, len(entries), len(want))
	}
}

func TestWorkspacesEndToEnd(t *testing.T) {
	w := newTwoWorkspaces(t)
	textfile := w.path("metrics.prom")
	r := w.mustRun("sync", "--metrics-textfile", textfile)
	w.assertMirrors("acme", w.acme)
	w.assertMirrors("globex", w.globex)
	if !strings.Contains(r.stderr, "workspace=acme") || !strings.Contains(r.stderr, "workspace=globex") {
		t.Errorf("the log does not name the workspaces:\n%s", r.stderr)
	}
	prom, err := os.ReadFile(textfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`connect_sync_changes_total{kind="created",workspace="acme"} 40`,
		`connect_sync_changes_total{kind="created",workspace="globex"} 25`,
		`connect_sync_contacts{workspace="globex"} 25`,
	} {
		if !strings.Contains(string(prom), want) {
			t.Errorf("the metrics textfile lacks %s:\n%s", want, prom)
		}
	}

	// One workspace's API failing fails its run only: the other's change
	// still arrives, and the exit code says something failed.
	w.globex.Fail(fakeconnect.Fault{Status: 500})
	id := w.acme.IDs()[0]
	if err := w.acme.Delete(id); err != nil {
		t.Fatal(err)
	}
	r = w.run(nil, "sync")
	if r.code != exitFailure || !strings.Contains(r.stderr, "workspace globex: ") {
		t.Errorf("sync with globex's API down: exit %d\n%s", r.code, r.stderr)
	}
	w.assertMirrors("acme", w.acme)

	// --workspace syncs that one only.
	before := len(w.acme.Requests())
	if err := w.globex.Delete(w.globex.IDs()[0]); err != nil {
		t.Fatal(err)
	}
	w.mustRun("sync", "--workspace", "globex")
	w.assertMirrors("globex", w.globex)
	if after := len(w.acme.Requests()); after != before {
		t.Errorf("sync --workspace globex made %d requests to acme's API", after-before)
	}

	var st service.Status
	if err := json.Unmarshal([]byte(w.mustRun("status", "--json").stdout), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Workspaces) != 2 || st.Workspaces[0].Workspace != "acme" || st.Workspaces[0].Contacts != 39 || st.Workspaces[1].Contacts != 24 {
		t.Errorf("status --json: %+v", st)
	}
	text := w.mustRun("status").stdout
	if !strings.Contains(text, "workspace acme\n") || !strings.Contains(text, "workspace globex\n") {
		t.Errorf("status does not show each workspace:\n%s", text)
	}

	for _, args := range [][]string{
		{"sync", "--sink", "spreadsheet"},
		{"reset", "--sink", "spreadsheet"},
		{"redeliver", "--sink", "spreadsheet", "--all"},
		{"sync", "--workspace", "initech"},
	} {
		if r := w.run(nil, args...); r.code != exitUsage || !strings.Contains(r.stderr, "workspace") {
			t.Errorf("%v: exit %d, want %d and a word about the workspace:\n%s", args, r.code, exitUsage, r.stderr)
		}
	}
	w.mustRun("reset", "--workspace", "acme", "--sink", "spreadsheet")
	w.mustRun("sync")
	w.assertMirrors("acme", w.acme)
}

// TestWorkspacesRunOnTheirOwnSchedules: a workspace whose API hangs does
// not hold up another's runs in the service.
func TestWorkspacesRunOnTheirOwnSchedules(t *testing.T) {
	w := newTwoWorkspaces(t)
	url := w.serviceConfig("shutdown_timeout: 5s\n")
	for range 100 {
		w.globex.Fail(fakeconnect.Fault{Endpoint: "/api/connect/contacts", Hang: true})
	}
	s := w.startService(url)
	eventually(t, "acme's first sync", func() bool {
		_, err := os.Stat(w.path("acme.csv"))
		return err == nil
	})
	id := w.acme.IDs()[0]
	if err := w.acme.Delete(id); err != nil {
		t.Fatal(err)
	}
	eventually(t, "acme's next sync", func() bool { return len(w.ids("acme")) == 39 })

	eventually(t, "acme's second run to be counted", func() bool {
		return value(s.metrics(), "connect_sync_runs_total", "workspace", "acme", "result", "success") >= 2
	})
	families := s.metrics()
	if n := value(families, "connect_sync_runs_total", "workspace", "globex"); n != 0 {
		t.Errorf("globex finished %v runs while its API hung", n)
	}
	if n := value(families, "connect_sync_runs_skipped_total", "workspace", "globex"); n == 0 {
		t.Error("globex's ticks during its hung run were not counted as skipped")
	}
	code, body := s.get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "workspace globex") {
		t.Errorf("/readyz: %d %s", code, body)
	}
	s.signal(syscall.SIGTERM)
	if code := s.wait(); code != 0 {
		t.Errorf("exit %d after SIGTERM with globex's run hung in its fetch", code)
	}
}

// TestServiceStartsWithoutOneWorkspacesKey: a workspace whose key file is
// missing fails its own runs, and the others go on.
func TestServiceStartsWithoutOneWorkspacesKey(t *testing.T) {
	w := newTwoWorkspaces(t)
	b, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	missing := w.path("globex.key")
	config := strings.Replace(string(b), "api_key: ${TEST_API_KEY}", "api_key_file: "+missing, 2)
	config = strings.Replace(config, "api_key_file: "+missing, "api_key: ${TEST_API_KEY}", 1) // acme keeps its key
	w.writeConfig(config)
	url := w.serviceConfig("")
	s := w.startService(url)
	eventually(t, "acme's sync", func() bool {
		_, err := os.Stat(w.path("acme.csv"))
		return err == nil
	})
	eventually(t, "readyz naming globex", func() bool {
		code, body := s.get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "workspace globex: ") && strings.Contains(body, "api_key_file")
	})
	if !strings.Contains(s.logs.String(), "a workspace has no API key") {
		t.Error("the service did not warn about globex's key")
	}
	if err := os.WriteFile(missing, []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "globex's sync once its key is there", func() bool {
		_, err := os.Stat(w.path("globex.csv"))
		return err == nil
	})
	s.signal(syscall.SIGTERM)
	if code := s.wait(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
