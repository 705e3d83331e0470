package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/connect-sync/connect-sync/internal/crashpoint"
	"github.com/connect-sync/connect-sync/internal/state"
)

// serviceProcess is a `connect-sync run` process.
type serviceProcess struct {
	t       *testing.T
	cmd     *exec.Cmd
	url     string
	logs    *syncBuffer
	exited  chan struct{}
	waitErr error
	notify  chan string // what it told $NOTIFY_SOCKET
}

// syncBuffer is a bytes.Buffer the process and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serviceConfig adds the service's settings to the workspace's config: a
// one-second schedule and a listener on a free loopback port.
func (w *workspace) serviceConfig(extra string) string {
	w.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base, err := os.ReadFile(w.config)
	if err != nil {
		w.t.Fatal(err)
	}
	if !strings.Contains(extra, "schedule:") {
		extra += "schedule: \"@every 1s\"\n"
	}
	w.writeConfig(fmt.Sprintf("http:\n  listen: %s\n%s%s", addr, extra, base))
	return "http://" + addr
}

// startService starts `connect-sync run` with a notify socket it reports to.
func (w *workspace) startService(url string, env ...string) *serviceProcess {
	w.t.Helper()
	socket := filepath.Join(w.dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		w.t.Fatal(err)
	}
	s := &serviceProcess{t: w.t, url: url, logs: &syncBuffer{}, exited: make(chan struct{}), notify: make(chan string, 1000)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.notify <- string(buf[:n])
		}
	}()
	s.cmd = exec.Command(binary, "run", "--config", w.config)
	s.cmd.Env = append(os.Environ(), append([]string{"TEST_API_KEY=" + testKey, "NOTIFY_SOCKET=" + socket, "WATCHDOG_USEC=400000"}, env...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		conn.Close()
		close(s.exited)
	}()
	w.t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if strings.Contains(s.logs.String(), testKey) {
			w.t.Errorf("the API key leaked into the service's logs")
		}
		if w.t.Failed() {
			w.t.Logf("service logs:\n%s", s.logs)
		}
	})
	return s
}

// eventually polls cond until it holds, failing after a generous minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// expect waits for a notification starting with want.
func (s *serviceProcess) expect(want string) {
	s.t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case m := <-s.notify:
			if strings.HasPrefix(m, want) {
				return
			}
		case <-timeout:
			s.t.Fatalf("no %q from the service", want)
		}
	}
}

func (s *serviceProcess) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// wait returns the exit code once the process ends.
func (s *serviceProcess) wait() int {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		s.t.Fatal("the service did not exit")
	}
	if s.waitErr != nil {
		if exit, ok := s.waitErr.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		s.t.Fatal(s.waitErr)
	}
	return 0
}

func (s *serviceProcess) get(path string) (int, string) {
	s.t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// metrics scrapes /metrics, lints it the way promtool does, and returns
// the families.
func (s *serviceProcess) metrics() map[string]*dto.MetricFamily {
	s.t.Helper()
	code, body := s.get("/metrics")
	if code != http.StatusOK {
		s.t.Fatalf("/metrics: %d %s", code, body)
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		s.t.Fatal(err)
	}
	for _, p := range problems {
		s.t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	return families
}

// value is the sum of a family's samples whose labels include labels.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	var sum float64
	for _, m := range families[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && have[labels[i]] == labels[i+1]
		}
		if match {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

func TestServiceEndToEnd(t *testing.T) {
	w := newWorkspace(t, 60)
	url := w.serviceConfig("")
	s := w.startService(url)
	s.expect("READY=1")

	// The first run happens at start and makes the service ready.
	eventually(t, "/readyz to answer 200", func() bool { code, _ := s.get("/readyz"); return code == http.StatusOK })
	m := s.metrics()
	if value(m, "connect_sync_runs_total", "result", "success") < 1 || value(m, "connect_sync_changes_total", "kind", "created") != 60 ||
		value(m, "connect_sync_contacts") != 60 || value(m, "connect_sync_sink_deliveries_total", "sink", "cards", "result", "success") != 60 ||
		value(m, "connect_sync_source_requests_total", "endpoint", "contacts", "code", "200") < 1 {
		t.Errorf("metrics after the first run are off:\n%s", body(s.get("/metrics")))
	}
	for _, name := range []string{
		"connect_sync_runs_skipped_total", "connect_sync_run_duration_seconds", "connect_sync_last_run_timestamp_seconds",
		"connect_sync_last_success_timestamp_seconds", "connect_sync_source_request_duration_seconds", "connect_sync_sink_pending",
		"connect_sync_sink_last_success_timestamp_seconds", "connect_sync_build_info", "go_goroutines", "process_cpu_seconds_total",
	} {
		if _, ok := m[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	w.assertMirrors()

	// An edit at the source reaches the sinks on a later tick.
	id := w.api.IDs()[0]
	w.api.Edit(id, func(c map[string]any) { c["lastName"] = "Edited-By-Test" })
	eventually(t, "the edit in the CSV file", func() bool {
		b, _ := os.ReadFile(w.path("contacts.csv"))
		return bytes.Contains(b, []byte("Edited-By-Test"))
	})
	s.expect("STATUS=Last run ")
	s.expect("WATCHDOG=1")

	// status works while the service holds the state file.
	if st := w.status(); st.Contacts != 60 || len(st.Sinks) != 2 {
		t.Errorf("status --json through the service: %+v", st)
	}
	if code, _ := s.post("/sync"); code != http.StatusAccepted && code != http.StatusConflict {
		t.Errorf("POST /sync: %d", code)
	}

	// A broken config on SIGHUP is refused; the old one goes on.
	good, _ := os.ReadFile(w.config)
	bad := strings.Replace(string(good), `schedule: "@every 1s"`, `schedule: "every minute"`, 1)
	os.WriteFile(w.config, []byte(bad), 0o600)
	s.signal(syscall.SIGHUP)
	s.expect("RELOADING=1")
	s.expect("READY=1")
	eventually(t, "the reload error in the log", func() bool {
		return strings.Contains(s.logs.String(), `config reload failed: keeping the config in use`) &&
			strings.Contains(s.logs.String(), `schedule: \"every minute\"`)
	})
	w.api.Edit(id, func(c map[string]any) { c["lastName"] = "After-Bad-Reload" })
	eventually(t, "an edit after the bad reload", func() bool {
		b, _ := os.ReadFile(w.path("contacts.csv"))
		return bytes.Contains(b, []byte("After-Bad-Reload"))
	})

	s.signal(syscall.SIGTERM)
	s.expect("STOPPING=1")
	if code := s.wait(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	os.WriteFile(w.config, good, 0o600)
	w.assertMirrors()
}

func (s *serviceProcess) post(path string) (int, string) {
	s.t.Helper()
	resp, err := http.Post(s.url+path, "", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func body(_ int, b string) string { return b }

// TestServiceStopsMidRun sends SIGTERM right after the first batch of a
// big first sync was delivered: the service finishes what is in flight,
// records it, exits 0, and the next run delivers the rest.
func TestServiceStopsMidRun(t *testing.T) {
	w := newWorkspace(t, 2000)
	url := w.serviceConfig("schedule: \"@hourly\"\n")
	s := w.startService(url, crashpoint.EnvVar+"=after-deliver:1=TERM")
	if code := s.wait(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	if !strings.Contains(s.logs.String(), "letting the runs in progress finish their current deliveries") {
		t.Error("the service did not say it let the run finish")
	}
	st := w.status()
	pending := 0
	for _, sink := range st.Sinks {
		pending += sink.Pending
		if sink.Delivered+uint64(sink.Pending) != 2000 {
			t.Errorf("sink %s: %d delivered + %d pending, want 2000", sink.Name, sink.Delivered, sink.Pending)
		}
	}
	if st.Contacts != 2000 || pending == 0 {
		t.Errorf("after the stop: %d contacts tracked, %d changes pending; want 2000 and some", st.Contacts, pending)
	}
	w.mustRun("sync")
	w.assertMirrors()
}

func TestServiceRefusesABadStart(t *testing.T) {
	w := newWorkspace(t, 1)
	w.serviceConfig("schedule: \"61 * * * *\"\n")
	r := w.run(nil, "run")
	if r.code != 2 || !strings.Contains(r.stderr, "config.yaml:3: schedule: ") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestMetricsTextfile(t *testing.T) {
	w := newWorkspace(t, 5)
	prom := w.path("connect-sync.prom")
	read := func() map[string]*dto.MetricFamily {
		t.Helper()
		b, err := os.ReadFile(prom)
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		m, err := parser.TextToMetricFamilies(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	w.mustRun("sync", "--metrics-textfile", prom)
	if m := read(); value(m, "connect_sync_changes_total", "kind", "created") != 5 ||
		value(m, "connect_sync_runs_total", "result", "success") != 1 || value(m, "connect_sync_contacts") != 5 {
		t.Errorf("textfile after a good run: %v", m)
	}

	// A run that fails before it starts (a key file that is not there)
	// still writes the file, and the state file records the failure.
	base, _ := os.ReadFile(w.config)
	w.writeConfig(strings.Replace(string(base), "api_key: ${TEST_API_KEY}", "api_key_file: "+w.path("missing-key"), 1))
	if r := w.run(nil, "sync", "--metrics-textfile", prom); r.code != 2 {
		t.Fatalf("exit %d, want 2:\n%s", r.code, r.stderr)
	}
	if m := read(); value(m, "connect_sync_runs_total", "result", "failure") != 1 || value(m, "connect_sync_runs_total", "result", "success") != 0 {
		t.Errorf("textfile after a failed run: %v", m)
	}
	if st := w.status(); st.LastRun == nil || st.LastRun.Result != state.RunFailed || !strings.Contains(st.LastRun.Error, "connect.api_key_file") {
		t.Errorf("status after the failed run: %+v", st.LastRun)
	}
}
