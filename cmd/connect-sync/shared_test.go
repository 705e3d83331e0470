package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/fakeconnect"
	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/servertest"
	"github.com/connect-sync/connect-sync/internal/service"
)

// The tests of state.backend nats: several `connect-sync run` instances,
// the real binary, share one config's workspaces through leases in a real
// JetStream. Each workspace has its own fake API, whose request log tells
// which instance synced it when (each names itself in its User-Agent),
// and its own CSV file, which every instance writes in turn.

const (
	leadStatusesPath = "/api/connect/contacts/lead-statuses"
	contactsPath     = "/api/connect/contacts"
)

// sharedAPI is one workspace of a shared config: its fake API, when each
// request arrived and from which instance, and its CSV file.
type sharedAPI struct {
	name string
	api  *fakeconnect.Server
	url  string // where the fake API listens
	csv  string

	mu       sync.Mutex
	arrivals []arrival
}

// arrival is a request as it reached the fake API.
type arrival struct {
	at        time.Time
	userAgent string
}

// ServeHTTP notes when the request came before the fake API serves it.
func (a *sharedAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.arrivals = append(a.arrivals, arrival{at: time.Now(), userAgent: r.UserAgent()})
	a.mu.Unlock()
	a.api.ServeHTTP(w, r)
}

// firstAfter returns when the first request after since came that was not
// from instance, if one did.
func (a *sharedAPI) firstAfter(since time.Time, instance string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.arrivals {
		if r.at.After(since) && !strings.HasSuffix(r.userAgent, "(instance "+instance+")") {
			return r.at, true
		}
	}
	return time.Time{}, false
}

// mirrored says how the CSV file differs from the API, if it does: the
// same contacts, each with the API's email and note (the field the tests
// edit).
func (a *sharedAPI) mirrored() error {
	f, err := os.Open(a.csv)
	if err != nil {
		return err
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) == 0 {
		return fmt.Errorf("%s: %d rows, %w", a.csv, len(rows), err)
	}
	want := a.api.IDs()
	slices.SortFunc(want, byNumber)
	var got []string
	for _, row := range rows[1:] {
		got = append(got, row[0])
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("workspace %s: the csv holds contacts %v, the API %v", a.name, got, want)
	}
	email, note := slices.Index(rows[0], "email"), slices.Index(rows[0], "note")
	for _, row := range rows[1:] {
		c, _ := a.api.Contact(row[0])
		// The csv sink guards a note that looks like a formula with a ',
		// and encoding/csv reads a CRLF in a cell as LF.
		n := strings.ReplaceAll(textOf(c["note"]), "\r\n", "\n")
		if row[email] != textOf(c["email"]) || row[note] != n && row[note] != "'"+n {
			return fmt.Errorf("workspace %s: contact %s is %s %q in the csv, %s %q in the API",
				a.name, row[0], row[email], row[note], textOf(c["email"]), textOf(c["note"]))
		}
	}
	return nil
}

// edit changes the note of one of the workspace's contacts, picked by the
// note's length.
func (a *sharedAPI) edit(t *testing.T, note string) {
	t.Helper()
	ids := a.api.IDs()
	if err := a.api.Edit(ids[len(note)%len(ids)], func(c map[string]any) { c["note"] = note + " " + a.name }); err != nil {
		t.Fatal(err)
	}
}

// sharedRuns reads the fake API's request log as runs, each a GET of the
// lead statuses then a GET of the contacts by one instance (with
// max_retries 0, a run sends no other request). It fails the test for a
// request that does not name a known instance in its User-Agent, and for
// any request of another instance between a run's two: runs of different
// instances must not overlap. A run stopped between its two requests (its
// lease given back or lost, its instance stopped or killed) leaves the
// first alone; those are counted, not checked, since the log cannot say
// when such a run ended. It returns the runs of each instance.
func (a *sharedAPI) sharedRuns(t *testing.T, userAgents map[string]string) (runs map[string]int, stopped int) {
	t.Helper()
	instanceOf := map[string]string{}
	for name, ua := range userAgents {
		instanceOf[ua] = name
	}
	runs = map[string]int{}
	open := map[string]int{} // instance → index of its run's first request
	log := a.api.Requests()
	for i, r := range log {
		inst, ok := instanceOf[r.Header.Get("User-Agent")]
		if !ok {
			t.Errorf("workspace %s: request %d (%s %s) has User-Agent %q, which names no instance", a.name, i, r.Method, r.Path, r.Header.Get("User-Agent"))
			continue
		}
		switch {
		case r.Method == http.MethodGet && r.Path == leadStatusesPath:
			if _, ok := open[inst]; ok {
				stopped++
			}
			open[inst] = i
		case r.Method == http.MethodGet && r.Path == contactsPath:
			first, ok := open[inst]
			if !ok {
				t.Errorf("workspace %s: request %d: %s fetched the contacts without the lead statuses first", a.name, i, inst)
				continue
			}
			delete(open, inst)
			runs[inst]++
			for j := first + 1; j < i; j++ {
				if other := instanceOf[log[j].Header.Get("User-Agent")]; other != inst {
					t.Errorf("workspace %s: request %d (%s %s) by %s came during a run of %s (requests %d to %d)",
						a.name, j, log[j].Method, log[j].Path, other, inst, first, i)
				}
			}
		default:
			t.Errorf("workspace %s: request %d: %s %s by %s is no part of a run", a.name, i, r.Method, r.Path, inst)
		}
	}
	return runs, stopped + len(open)
}

// sharedConfig is a config of workspaces whose state is in JetStream, which
// several instances run, each with a config file of its own that differs
// in its listener and its instance name only.
type sharedConfig struct {
	t    *testing.T
	dir  string
	apis []*sharedAPI
	// nats is the state.nats block, but the instance.
	nats string
	ttl  time.Duration
}

func newSharedConfig(t *testing.T, workspaces int, urls []string, ttl time.Duration, replicas int) *sharedConfig {
	t.Helper()
	s := &sharedConfig{t: t, dir: t.TempDir(), ttl: ttl}
	s.nats = fmt.Sprintf("    urls: [%s]\n    lease_ttl: %s\n    replicas: %d\n", strings.Join(urls, ", "), ttl, replicas)
	for i := range workspaces {
		a := &sharedAPI{
			name: fmt.Sprintf("ws%d", i),
			// 20 to 38 contacts, each workspace its own.
			api: fakeconnect.New(fakeconnect.Options{APIKey: testKey, Contacts: 20 + 2*i%20, Seed: int64(100 + i)}),
		}
		a.csv = filepath.Join(s.dir, a.name+".csv")
		srv := httptest.NewServer(a)
		t.Cleanup(srv.Close)
		a.url = srv.URL
		s.apis = append(s.apis, a)
	}
	return s
}

// config writes the config of an instance, with a listener on a free
// loopback port, and returns its path and the listener's URL; an empty
// instance name gives a config for the one-shot commands.
func (s *sharedConfig) config(instance string) (path, url string) {
	s.t.Helper()
	var b strings.Builder
	if instance != "" {
		addr := servertest.FreeAddr(s.t)
		url = "http://" + addr
		fmt.Fprintf(&b, "http:\n  listen: %s\n", addr)
	}
	fmt.Fprintf(&b, "schedule: \"@every 1s\"\nshutdown_timeout: 20s\nstate:\n  backend: nats\n  nats:\n%s", s.nats)
	if instance != "" {
		fmt.Fprintf(&b, "    instance: %s\n", instance)
	}
	b.WriteString("workspaces:\n")
	for _, a := range s.apis {
		fmt.Fprintf(&b, `  - name: %s
    connect:
      base_url: %s
      api_key: ${TEST_API_KEY}
      max_retries: 0
    sinks:
      - name: spreadsheet
        type: csv
        path: %s
`, a.name, a.url, a.csv)
	}
	dir := filepath.Join(s.dir, cmp.Or(instance, "cli"))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.t.Fatal(err)
	}
	path = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path, url
}

// instance is one `connect-sync run` of a shared config.
type instance struct {
	name string
	*serviceProcess
}

// start starts an instance, in a folder of its own.
func (s *sharedConfig) start(name string) *instance {
	s.t.Helper()
	path, url := s.config(name)
	w := &workspace{t: s.t, dir: filepath.Dir(path), config: path}
	return &instance{name: name, serviceProcess: w.startService(url)}
}

// cli runs a one-shot command with the config of no instance.
func (s *sharedConfig) cli(args ...string) result {
	s.t.Helper()
	path, _ := s.config("")
	w := &workspace{t: s.t, dir: filepath.Dir(path), config: path}
	return w.run(nil, args...)
}

// split asks each live instance which workspaces it runs and the first
// one which instance holds which workspace (from the lease bucket). It
// returns the holders once the split is fair, and else what is not yet:
// every workspace held by a live instance, the one that runs it, alone;
// each instance running n/k or n/k+1 of the n workspaces.
func (s *sharedConfig) split(live []*instance) (map[string]string, error) {
	holders := map[string]string{}
	runners := map[string][]string{}
	for i, in := range live {
		code, body := in.get("/status")
		if code != http.StatusOK {
			return nil, fmt.Errorf("%s: /status: %d %s", in.name, code, body)
		}
		var st service.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			return nil, fmt.Errorf("%s: /status: %w", in.name, err)
		}
		if st.Instance != in.name {
			return nil, fmt.Errorf("%s: /status names the instance %q", in.name, st.Instance)
		}
		for _, ws := range st.Workspaces {
			runners[ws.Workspace] = append(runners[ws.Workspace], in.name)
		}
		if i > 0 {
			continue
		}
		for _, h := range st.Holders {
			if !h.Live {
				return nil, fmt.Errorf("workspace %s: held by %s, which is not live", h.Workspace, h.Instance)
			}
			holders[h.Workspace] = h.Instance
		}
	}
	counts := map[string]int{}
	for _, a := range s.apis {
		h, ok := holders[a.name]
		if !ok {
			return nil, fmt.Errorf("workspace %s: held by no instance", a.name)
		}
		if r := runners[a.name]; len(r) != 1 || r[0] != h {
			return nil, fmt.Errorf("workspace %s: held by %s, run by %v", a.name, h, r)
		}
		counts[h]++
	}
	n, k := len(s.apis), len(live)
	for _, in := range live {
		if c := counts[in.name]; c < n/k || c > (n+k-1)/k {
			return nil, fmt.Errorf("not a fair split yet: %v", counts)
		}
	}
	return holders, nil
}

// waitFor polls check until it returns nil, failing the test with its last
// error after a generous minute.
func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// allMirrored says which workspace's CSV file does not mirror its API yet.
func (s *sharedConfig) allMirrored() error {
	var errs []error
	for _, a := range s.apis {
		errs = append(errs, a.mirrored())
	}
	return errors.Join(errs...)
}

// held lists the workspaces holders gives instance.
func held(holders map[string]string, instance string) []string {
	var names []string
	for ws, h := range holders {
		if h == instance {
			names = append(names, ws)
		}
	}
	slices.Sort(names)
	return names
}

// takeovers waits until another instance than from has sent a request for
// each of the workspaces, and logs and returns how long after since each
// first did.
func (s *sharedConfig) takeovers(what string, workspaces []string, from string, since time.Time) map[string]time.Duration {
	s.t.Helper()
	took := map[string]time.Duration{}
	for _, name := range workspaces {
		a := s.api(name)
		waitFor(s.t, "a request for "+name+" by another instance than "+from, func() error {
			at, ok := a.firstAfter(since, from)
			if !ok {
				return errors.New("none yet")
			}
			took[name] = at.Sub(since)
			return nil
		})
		s.t.Logf("%s: workspace %s taken over %v after it", what, name, took[name].Round(time.Millisecond))
	}
	return took
}

func (s *sharedConfig) api(name string) *sharedAPI {
	for _, a := range s.apis {
		if a.name == name {
			return a
		}
	}
	s.t.Fatalf("no workspace %s", name)
	return nil
}

// checkRuns checks every workspace's request log for runs that overlap,
// and logs how the runs were shared.
func (s *sharedConfig) checkRuns(names ...string) {
	s.t.Helper()
	v := strings.Fields(runVersionOf(s.t))[1] // connect-sync VERSION (GO)
	userAgents := map[string]string{}
	for _, name := range names {
		userAgents[name] = "connect-sync/" + v + " (instance " + name + ")"
	}
	total := map[string]int{}
	for _, a := range s.apis {
		runs, stopped := a.sharedRuns(s.t, userAgents)
		s.t.Logf("workspace %s: runs by instance %v, %d stopped before their fetch of the contacts", a.name, runs, stopped)
		for name, n := range runs {
			total[name] += n
		}
	}
	for _, name := range names {
		if total[name] == 0 {
			s.t.Errorf("instance %s ran no workspace", name)
		}
	}
}

// runLine is a line of an instance's log that says it took a workspace's
// lease, or finished a run of a workspace.
var runLine = regexp.MustCompile(`(?m)^time=(\S+) level=\S+ msg="(lease: took workspace|sync finished)" (?:instance=\S+ )?workspace=(\S+)`)

// checkRunEnds checks, from the instances' logs, that each run ended
// before another instance took its workspace: a run that outlives its
// lease must stop within the lease's margin (a quarter of the TTL), which
// is the least time between the end of a lease and another instance's
// taking it, so that the two never sync a workspace at once. The
// request log cannot tell: such a run may have fetched everything before
// its lease ended, and go on writing the state. A second of slack on top
// of the margin is left for a loaded machine.
func (s *sharedConfig) checkRunEnds(list ...*instance) {
	s.t.Helper()
	type event struct {
		at       time.Time
		instance string
		took     bool
	}
	events := map[string][]event{} // by workspace
	for _, in := range list {
		for _, m := range runLine.FindAllStringSubmatch(in.logs.String(), -1) {
			at, err := time.Parse(time.RFC3339Nano, m[1])
			if err != nil {
				s.t.Fatalf("%s: log time %q: %v", in.name, m[1], err)
			}
			events[m[3]] = append(events[m[3]], event{at: at, instance: in.name, took: m[2] == "lease: took workspace"})
		}
	}
	slack := s.ttl/4 + time.Second
	var latest time.Duration
	for _, a := range s.apis {
		list := events[a.name]
		slices.SortStableFunc(list, func(x, y event) int { return x.at.Compare(y.at) })
		var holder event // the last to take the workspace
		for _, e := range list {
			switch {
			case e.took:
				holder = e
			case holder.instance != "" && e.instance != holder.instance:
				late := e.at.Sub(holder.at)
				latest = max(latest, late)
				if late > slack {
					s.t.Errorf("workspace %s: a run of %s ended %v after %s took the workspace, at %s", a.name, e.instance, late, holder.instance, holder.at.Format(time.StampMilli))
				}
			}
		}
	}
	s.t.Logf("the latest end of a run after another instance took its workspace: %v", latest)
}

// runVersionOf is what `connect-sync version` prints.
func runVersionOf(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(binary, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// alive fails the test for each instance that has exited.
func alive(t *testing.T, list ...*instance) {
	t.Helper()
	for _, in := range list {
		select {
		case <-in.exited:
			t.Errorf("instance %s exited: %v", in.name, in.waitErr)
		default:
		}
	}
}

// TestSharedStateInstances runs three instances on ten workspaces with
// their state in one nats-server: each workspace synced by one instance at
// a time, a fair split, a killed instance's workspaces taken over within
// about a lease TTL and nothing lost, a stopped one's at once.
func TestSharedStateInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: three instances of the real binary sharing ten workspaces; runs without -short")
	}
	srv := natstest.Start(t)
	s := newSharedConfig(t, 10, []string{srv.URL}, 3*time.Second, 1)
	var live []*instance
	for _, name := range []string{"i1", "i2", "i3"} {
		live = append(live, s.start(name))
	}
	all := live
	waitFor(t, "every csv to mirror its API", s.allMirrored)
	var holders map[string]string
	waitFor(t, "a fair split among three", func() (err error) { holders, err = s.split(live); return err })
	t.Logf("split among three: %v", holders)

	// SIGKILL: the instance's leases lapse a TTL after its last renewal.
	killed, live := live[0], live[1:]
	lost := held(holders, killed.name)
	killedAt := time.Now()
	if err := killed.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-killed.exited
	for _, a := range s.apis {
		a.edit(t, "after the kill")
	}
	took := s.takeovers("after SIGKILL", lost, killed.name, killedAt)
	for ws, d := range took {
		if bound := 3*s.ttl + 10*time.Second; d > bound {
			t.Errorf("workspace %s was taken over %v after the kill, more than %v", ws, d, bound)
		}
	}
	waitFor(t, "every csv to show its edit", s.allMirrored)
	waitFor(t, "a fair split among two", func() (err error) { holders, err = s.split(live); return err })
	t.Logf("split among two: %v", holders)

	// SIGTERM: the instance gives its leases back as it stops.
	stopped, live := live[0], live[1:]
	given := held(holders, stopped.name)
	stoppedAt := time.Now()
	stopped.signal(syscall.SIGTERM)
	if code := stopped.wait(); code != 0 {
		t.Errorf("%s: exit %d after SIGTERM", stopped.name, code)
	}
	for _, a := range s.apis {
		a.edit(t, "after the stop")
	}
	took = s.takeovers("after SIGTERM", given, stopped.name, stoppedAt)
	for ws, d := range took {
		if bound := 3*s.ttl + 10*time.Second; d > bound {
			t.Errorf("workspace %s was taken over %v after SIGTERM, more than %v", ws, d, bound)
		}
	}
	waitFor(t, "every csv to show its second edit", s.allMirrored)
	waitFor(t, "the last instance to hold every workspace", func() (err error) { holders, err = s.split(live); return err })

	// status reads the holders and the state from JetStream.
	r := s.cli("status")
	if r.code != 0 {
		t.Fatalf("status: exit %d\n%s", r.code, r.stderr)
	}
	for _, a := range s.apis {
		_, block, _ := strings.Cut(r.stdout, "workspace "+a.name+"\n")
		if want := "held by: " + live[0].name + " ("; !strings.HasPrefix(block, want) {
			t.Errorf("status does not say %s holds %s:\n%s", live[0].name, a.name, r.stdout)
			break
		}
	}
	r = s.cli("status", "--json")
	var st service.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != 0 {
		t.Fatalf("status --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if len(st.Workspaces) != len(s.apis) || len(st.Holders) != len(s.apis) {
		t.Fatalf("status --json: %d workspaces, %d holders, want %d of each", len(st.Workspaces), len(st.Holders), len(s.apis))
	}
	for i, a := range s.apis {
		if ws := st.Workspaces[i]; ws.Workspace != a.name || ws.Contacts != len(a.api.IDs()) || ws.LastRun == nil || len(ws.Sinks) != 1 || ws.Sinks[0].Pending != 0 {
			t.Errorf("status --json of %s: %+v", a.name, ws)
		}
		if h := st.Holders[i]; h.Workspace != a.name || h.Instance != live[0].name || !h.Live {
			t.Errorf("status --json: holder of %s: %+v", a.name, h)
		}
	}
	s.checkRuns("i1", "i2", "i3")
	s.checkRunEnds(all...)
	alive(t, live...)
}

// TestSharedStateSurvivesANodeRestart runs two instances on four
// workspaces with their state in a three-node cluster, and stops the node
// leading the state's stream, then starts it again: the instances go on,
// every edit arrives, no two instances sync a workspace at once.
func TestSharedStateSurvivesANodeRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a three-node nats-server cluster losing a node; runs without -short")
	}
	c := natstest.StartCluster(t)
	s := newSharedConfig(t, 4, c.URLs(), 3*time.Second, 3)
	start := time.Now()
	phase := func(what string) { t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond)) }
	live := []*instance{s.start("i1"), s.start("i2")}
	waitFor(t, "every csv to mirror its API", s.allMirrored)
	var holders map[string]string
	waitFor(t, "a fair split", func() (err error) { holders, err = s.split(live); return err })
	phase(fmt.Sprintf("mirrored, split %v,", holders))

	node := streamLeader(t, c, "KV_connect_sync_state")
	node.Stop()
	phase("stopped " + node.Name + ", the state stream's leader,")
	for _, a := range s.apis {
		a.edit(t, "with a node down")
	}
	waitFor(t, "every csv to show its edit with a node down", s.allMirrored)
	phase("the edits made with the node down mirrored")
	node.Restart(t)
	natstest.WaitJetStream(t, node.URL)
	phase("restarted " + node.Name)
	for _, a := range s.apis {
		a.edit(t, "after the restart")
	}
	waitFor(t, "every csv to show its edit after the restart", s.allMirrored)
	phase("the edits made after the restart mirrored")
	waitFor(t, "a fair split", func() (err error) { holders, err = s.split(live); return err })
	phase(fmt.Sprintf("split %v", holders))
	alive(t, live...)
	s.checkRuns("i1", "i2")
	s.checkRunEnds(live...)
}

// streamLeader returns the node leading the stream.
func streamLeader(t *testing.T, c *natstest.Cluster, stream string) *natstest.Server {
	t.Helper()
	js := natstest.Connect(t, c.URLs()...)
	var leader string
	waitFor(t, "the leader of "+stream, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, stream)
		if err != nil {
			return err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if info.Cluster == nil || info.Cluster.Leader == "" {
			return errors.New("no leader")
		}
		leader = info.Cluster.Leader
		return nil
	})
	for _, n := range c.Nodes {
		if n.Name == leader {
			return n
		}
	}
	t.Fatalf("the leader %s is none of the nodes", leader)
	return nil
}

// TestSharedStateRefusesOneShotCommands: with the state in JetStream, a
// workspace belongs to the instance holding its lease, so the commands
// that would write its state beside it refuse, before reaching anything.
func TestSharedStateRefusesOneShotCommands(t *testing.T) {
	w := newWorkspace(t, 3)
	base, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	fileState := "state:\n  path: " + w.path("state.db") + "\n"
	if !strings.Contains(string(base), fileState) {
		t.Fatalf("no state block in\n%s", base)
	}
	w.writeConfig(strings.Replace(string(base), fileState, "state:\n  backend: nats\n  nats:\n    urls: [nats://127.0.0.1:1]\n", 1))
	if err := os.WriteFile(w.path("f.csv"), []byte("email\nnew@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"sync"},
		{"reset", "--sink", "x"},
		{"redeliver", "--sink", "x", "--all"},
		{"import", "f.csv"},
	} {
		r := w.run(nil, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "state.backend nats") {
			t.Errorf("%v: exit %d, want %d and a word about state.backend nats:\n%s", args, r.code, exitUsage, r.stderr)
		}
	}
	if n := len(w.api.Requests()); n != 0 {
		t.Errorf("the refused commands sent %d requests to the API", n)
	}
}
