package metrics

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// observed is a Metrics that saw one good and one failed run.
func observed() *Metrics {
	m := New("1.2.3", true)
	w := m.Workspace("acme")
	w.ObserveRequest("contacts", 200, 300*time.Millisecond)
	w.ObserveRequest("contacts", 0, time.Second)
	w.ObserveRequest("lead-statuses", 503, 10*time.Millisecond)
	w.ObserveRun(t0, t0.Add(2*time.Second), engine.Report{Created: 3, Updated: 1, Sinks: []engine.SinkReport{
		{Name: "csv", Delivered: 4, Drift: sinks.Drift{Missing: []string{"1", "2"}, Extra: []string{"9"}}}, {Name: "hook", Delivered: 1, Failed: 3},
	}}, nil)
	w.ObserveRun(t0.Add(time.Minute), t0.Add(time.Minute+time.Second), engine.Report{Deleted: 1}, errors.New("boom"))
	w.RunSkipped()
	w.Conflict("phone")("overwritten")
	success := t0.Add(2 * time.Second)
	w.ObserveState(state.Status{
		LastRun:       &state.Run{FinishedAt: t0.Add(time.Minute + time.Second), Result: "failure"},
		LastSuccessAt: &success,
		Contacts:      42,
		Sinks: []state.SinkStatus{
			{Name: "csv", LastSuccessAt: &success},
			{Name: "hook", Pending: 3, DeadLetters: 2},
		},
	})
	return m
}

func TestSeries(t *testing.T) {
	want := `
# HELP connect_sync_runs_total Sync runs that finished, by result; a run that left changes pending is a failure.
# TYPE connect_sync_runs_total counter
connect_sync_runs_total{result="failure",workspace="acme"} 1
connect_sync_runs_total{result="success",workspace="acme"} 1
# HELP connect_sync_runs_skipped_total Scheduled runs skipped because the previous run was still going.
# TYPE connect_sync_runs_skipped_total counter
connect_sync_runs_skipped_total{workspace="acme"} 1
# HELP connect_sync_changes_total Contact changes detected, by kind.
# TYPE connect_sync_changes_total counter
connect_sync_changes_total{kind="created",workspace="acme"} 3
connect_sync_changes_total{kind="deleted",workspace="acme"} 1
connect_sync_changes_total{kind="updated",workspace="acme"} 1
# HELP connect_sync_contacts Contacts tracked in the checkpoint.
# TYPE connect_sync_contacts gauge
connect_sync_contacts{workspace="acme"} 42
# HELP connect_sync_last_run_timestamp_seconds When the last sync run finished, whatever its result.
# TYPE connect_sync_last_run_timestamp_seconds gauge
connect_sync_last_run_timestamp_seconds{workspace="acme"} 1.795600861e+09
# HELP connect_sync_last_success_timestamp_seconds When the last successful sync run finished.
# TYPE connect_sync_last_success_timestamp_seconds gauge
connect_sync_last_success_timestamp_seconds{workspace="acme"} 1.795600802e+09
# HELP connect_sync_source_requests_total Requests to the Connect API, each attempt counted, by endpoint and HTTP status ("error" when no response came).
# TYPE connect_sync_source_requests_total counter
connect_sync_source_requests_total{code="200",endpoint="contacts",workspace="acme"} 1
connect_sync_source_requests_total{code="503",endpoint="lead-statuses",workspace="acme"} 1
connect_sync_source_requests_total{code="error",endpoint="contacts",workspace="acme"} 1
# HELP connect_sync_sink_deliveries_total Changes handed to a sink, by sink and whether the sink acknowledged them.
# TYPE connect_sync_sink_deliveries_total counter
connect_sync_sink_deliveries_total{result="failure",sink="csv",workspace="acme"} 0
connect_sync_sink_deliveries_total{result="failure",sink="hook",workspace="acme"} 3
connect_sync_sink_deliveries_total{result="success",sink="csv",workspace="acme"} 4
connect_sync_sink_deliveries_total{result="success",sink="hook",workspace="acme"} 1
# HELP connect_sync_sink_pending Changes queued for a sink and not acknowledged yet.
# TYPE connect_sync_sink_pending gauge
connect_sync_sink_pending{sink="csv",workspace="acme"} 0
connect_sync_sink_pending{sink="hook",workspace="acme"} 3
# HELP connect_sync_sink_conflicts_total Changes that met a destination changed behind connect-sync's back (a CardDAV card edited on the server), by resolution.
# TYPE connect_sync_sink_conflicts_total counter
connect_sync_sink_conflicts_total{resolution="overwritten",sink="phone",workspace="acme"} 1
# HELP connect_sync_sink_drift_total Contacts whose copy in a sink's destination was found differing from the source (edited or deleted by hand), by kind: missing, modified or extra.
# TYPE connect_sync_sink_drift_total counter
connect_sync_sink_drift_total{kind="extra",sink="csv",workspace="acme"} 1
connect_sync_sink_drift_total{kind="missing",sink="csv",workspace="acme"} 2
connect_sync_sink_drift_total{kind="modified",sink="csv",workspace="acme"} 0
# HELP connect_sync_sink_dead_letters Changes a sink refused for good, kept for ` + "`connect-sync redeliver`" + `.
# TYPE connect_sync_sink_dead_letters gauge
connect_sync_sink_dead_letters{sink="csv",workspace="acme"} 0
connect_sync_sink_dead_letters{sink="hook",workspace="acme"} 2
# HELP connect_sync_sink_last_success_timestamp_seconds When a sink last finished a run with nothing left pending.
# TYPE connect_sync_sink_last_success_timestamp_seconds gauge
connect_sync_sink_last_success_timestamp_seconds{sink="csv",workspace="acme"} 1.795600802e+09
`
	names := []string{
		"connect_sync_runs_total", "connect_sync_runs_skipped_total", "connect_sync_changes_total", "connect_sync_contacts",
		"connect_sync_last_run_timestamp_seconds", "connect_sync_last_success_timestamp_seconds",
		"connect_sync_source_requests_total", "connect_sync_sink_deliveries_total", "connect_sync_sink_pending",
		"connect_sync_sink_last_success_timestamp_seconds", "connect_sync_sink_dead_letters",
		"connect_sync_sink_conflicts_total", "connect_sync_sink_drift_total",
	}
	if err := testutil.GatherAndCompare(observed().Gatherer(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

func TestEverySeriesIsThere(t *testing.T) {
	m := observed()
	for _, name := range []string{
		"connect_sync_run_duration_seconds", "connect_sync_source_request_duration_seconds", "connect_sync_build_info",
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if n, err := testutil.GatherAndCount(m.Gatherer(), name); err != nil || n == 0 {
			t.Errorf("%s: %d series, %v", name, n, err)
		}
	}
}

func TestLint(t *testing.T) {
	problems, err := testutil.GatherAndLint(observed().Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestRemovedSinkLeavesTheGauges(t *testing.T) {
	m := observed()
	m.Workspace("acme").ObserveState(state.Status{Sinks: []state.SinkStatus{{Name: "csv"}}})
	if n, _ := testutil.GatherAndCount(m.Gatherer(), "connect_sync_sink_pending"); n != 1 {
		t.Errorf("%d pending series after the hook sink left, want 1", n)
	}
}

func TestTextfile(t *testing.T) {
	m := New("1.2.3", false)
	m.Workspace("default").ObserveRun(t0, t0.Add(time.Second), engine.Report{Created: 5}, nil)
	path := filepath.Join(t.TempDir(), "connect-sync.prom")
	if err := m.WriteTextfile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{`connect_sync_changes_total{kind="created",workspace="default"} 5`, `connect_sync_runs_total{result="success",workspace="default"} 1`, "connect_sync_build_info{"} {
		if !strings.Contains(text, want) {
			t.Errorf("textfile lacks %q", want)
		}
	}
	// node_exporter has its own go_ and process_ series; duplicates would
	// make it reject the file.
	if strings.Contains(text, "go_goroutines") || strings.Contains(text, "process_") {
		t.Error("textfile carries the Go or process collectors")
	}
}

func TestWorkspacesHaveTheirOwnSeries(t *testing.T) {
	m := observed()
	other := m.Workspace("globex")
	other.ObserveRun(t0, t0.Add(time.Second), engine.Report{Created: 7, Sinks: []engine.SinkReport{{Name: "csv", Delivered: 7}}}, nil)
	other.ObserveState(state.Status{Contacts: 7, Sinks: []state.SinkStatus{{Name: "csv"}}})
	for _, c := range []struct {
		name string
		want float64
		got  float64
	}{
		{"acme created", 3, testutil.ToFloat64(m.changes.WithLabelValues("acme", "created"))},
		{"globex created", 7, testutil.ToFloat64(m.changes.WithLabelValues("globex", "created"))},
		{"acme contacts", 42, testutil.ToFloat64(m.contacts.WithLabelValues("acme"))},
		{"globex contacts", 7, testutil.ToFloat64(m.contacts.WithLabelValues("globex"))},
		{"globex csv delivered", 7, testutil.ToFloat64(m.deliveries.WithLabelValues("globex", "csv", "success"))},
		{"acme csv delivered", 4, testutil.ToFloat64(m.deliveries.WithLabelValues("acme", "csv", "success"))},
	} {
		if c.got != c.want {
			t.Errorf("%s: %g, want %g", c.name, c.got, c.want)
		}
	}

	m.Retain([]string{"globex"})
	problems, err := testutil.GatherAndLint(m.Gatherer())
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "workspace" && l.GetValue() != "globex" {
					t.Errorf("%s still has a series of workspace %s after Retain", f.GetName(), l.GetValue())
				}
			}
		}
	}
	if n, _ := testutil.GatherAndCount(m.Gatherer(), "connect_sync_sink_pending"); n != 1 {
		t.Errorf("%d pending series, want globex's one", n)
	}
}
