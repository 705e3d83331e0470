// Package metrics holds connect-sync's Prometheus series, in a registry of
// their own: the daemon serves them on /metrics, and a one-shot run writes
// them as a node_exporter textfile. The names are fixed, because
// dashboards and alerts rely on them, and every label value is bounded:
// results, change kinds, endpoints, status codes, and configured workspace
// and sink names, never a contact. Every series of a sync carries the
// workspace it belongs to.
package metrics

import (
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Metrics is the set of series one process reports. It is safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	mu    sync.Mutex
	sinks map[string]map[string]bool // workspace → the sinks its per-sink gauges are set for

	runs            *prometheus.CounterVec
	runsSkipped     *prometheus.CounterVec
	runDuration     *prometheus.HistogramVec
	lastRun         *prometheus.GaugeVec
	lastSuccess     *prometheus.GaugeVec
	contacts        *prometheus.GaugeVec
	changes         *prometheus.CounterVec
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	deliveries      *prometheus.CounterVec
	pending         *prometheus.GaugeVec
	deadLetters     *prometheus.GaugeVec
	conflicts       *prometheus.CounterVec
	drift           *prometheus.CounterVec
	sinkLastSuccess *prometheus.GaugeVec
}

// New registers connect-sync's series. Pass runtime to add the Go and
// process collectors, which a long-running process wants and a textfile
// must not have (node_exporter reports its own go_ and process_ series).
func New(version string, runtimeCollectors bool) *Metrics {
	m := &Metrics{
		reg:   prometheus.NewRegistry(),
		sinks: map[string]map[string]bool{},
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_runs_total",
			Help: "Sync runs that finished, by result; a run that left changes pending is a failure.",
		}, []string{"workspace", "result"}),
		runsSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_runs_skipped_total",
			Help: "Scheduled runs skipped because the previous run was still going.",
		}, []string{"workspace"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connect_sync_run_duration_seconds",
			Help:    "How long sync runs took.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 14), // 50 ms to about 2 h
		}, []string{"workspace"}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connect_sync_last_run_timestamp_seconds",
			Help: "When the last sync run finished, whatever its result.",
		}, []string{"workspace"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connect_sync_last_success_timestamp_seconds",
			Help: "When the last successful sync run finished.",
		}, []string{"workspace"}),
		contacts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connect_sync_contacts",
			Help: "Contacts tracked in the checkpoint.",
		}, []string{"workspace"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_changes_total",
			Help: "Contact changes detected, by kind.",
		}, []string{"workspace", "kind"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_source_requests_total",
			Help: `Requests to the Connect API, each attempt counted, by endpoint and HTTP status ("error" when no response came).`,
		}, []string{"workspace", "endpoint", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connect_sync_source_request_duration_seconds",
			Help:    "How long requests to the Connect API took, the body included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"workspace", "endpoint"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_sink_deliveries_total",
			Help: "Changes handed to a sink, by sink and whether the sink acknowledged them.",
		}, []string{"workspace", "sink", "result"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connect_sync_sink_pending",
			Help: "Changes queued for a sink and not acknowledged yet.",
		}, []string{"workspace", "sink"}),
		deadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connect_sync_sink_dead_letters",
			Help: "Changes a sink refused for good, kept for `connect-sync redeliver`.",
		}, []string{"workspace", "sink"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_sink_conflicts_total",
			Help: "Changes that met a destination changed behind connect-sync's back (a CardDAV card edited on the server), by resolution.",
		}, []string{"workspace", "sink", "resolution"}),
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_sink_drift_total",
			Help: "Contacts whose copy in a sink's destination was found differing from the source (edited or deleted by hand), by kind: missing, modified or extra.",
		}, []string{"workspace", "sink", "kind"}),
		sinkLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connect_sync_sink_last_success_timestamp_seconds",
			Help: "When a sink last finished a run with nothing left pending.",
		}, []string{"workspace", "sink"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "connect_sync_build_info",
		Help: "The running connect-sync's version; always 1.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	for _, v := range m.vecs() {
		m.reg.MustRegister(v)
	}
	m.reg.MustRegister(buildInfo)
	if runtimeCollectors {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gatherer gives the registry to tests and tools.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// WriteTextfile writes every series to path, atomically, in the text
// format node_exporter's textfile collector reads.
func (m *Metrics) WriteTextfile(path string) error {
	return prometheus.WriteToTextfile(path, m.reg)
}

// Workspace is the part of the series that belongs to one workspace.
type Workspace struct {
	m    *Metrics
	name string
}

// Workspace returns the series of the named workspace, creating those that
// exist from the start, so that rate() and absent() work before its first
// failure or its first deletion.
func (m *Metrics) Workspace(name string) *Workspace {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sinks[name]; !ok {
		m.sinks[name] = map[string]bool{}
		for _, result := range []string{"success", "failure"} {
			m.runs.WithLabelValues(name, result)
		}
		for _, kind := range []contact.Kind{contact.Created, contact.Updated, contact.Deleted} {
			m.changes.WithLabelValues(name, string(kind))
		}
		m.runsSkipped.WithLabelValues(name)
	}
	return &Workspace{m: m, name: name}
}

// Retain deletes the series of every workspace but those named: the
// workspaces a reloaded config no longer has.
func (m *Metrics) Retain(workspaces []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range m.sinks {
		if slices.Contains(workspaces, name) {
			continue
		}
		labels := prometheus.Labels{"workspace": name}
		for _, v := range m.vecs() {
			v.DeletePartialMatch(labels)
		}
		delete(m.sinks, name)
	}
}

// vec is any of prometheus's metric vectors.
type vec interface {
	prometheus.Collector
	DeletePartialMatch(labels prometheus.Labels) int
}

// vecs are every series with a workspace label: all but build_info.
func (m *Metrics) vecs() []vec {
	return []vec{
		m.runs, m.runsSkipped, m.runDuration, m.lastRun, m.lastSuccess, m.contacts, m.changes, m.requests,
		m.requestDuration, m.deliveries, m.pending, m.deadLetters, m.conflicts, m.drift, m.sinkLastSuccess,
	}
}

// RunSkipped counts a scheduled run that did not start because the
// previous one was still going.
func (w *Workspace) RunSkipped() { w.m.runsSkipped.WithLabelValues(w.name).Inc() }

// ObserveRequest records one attempt at a Connect API request; status 0
// means no response arrived. It fits source.Options.Observe.
func (w *Workspace) ObserveRequest(endpoint string, status int, elapsed time.Duration) {
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	w.m.requests.WithLabelValues(w.name, endpoint, code).Inc()
	w.m.requestDuration.WithLabelValues(w.name, endpoint).Observe(elapsed.Seconds())
}

// Conflict returns the sinks.Env.Conflict counter of one sink.
func (w *Workspace) Conflict(sink string) func(resolution string) {
	return func(resolution string) { w.m.conflicts.WithLabelValues(w.name, sink, resolution).Inc() }
}

// ObserveRun records a finished run: its result and duration, the changes
// it detected and what each sink acknowledged or refused. A run stopped
// early by a shutdown counts as neither a success nor a failure.
func (w *Workspace) ObserveRun(started, finished time.Time, r engine.Report, err error) {
	m := w.m
	switch {
	case err == nil:
		m.runs.WithLabelValues(w.name, "success").Inc()
		m.runDuration.WithLabelValues(w.name).Observe(finished.Sub(started).Seconds())
	case !errors.Is(err, engine.ErrStopped):
		m.runs.WithLabelValues(w.name, "failure").Inc()
		m.runDuration.WithLabelValues(w.name).Observe(finished.Sub(started).Seconds())
	}
	m.changes.WithLabelValues(w.name, string(contact.Created)).Add(float64(r.Created))
	m.changes.WithLabelValues(w.name, string(contact.Updated)).Add(float64(r.Updated))
	m.changes.WithLabelValues(w.name, string(contact.Deleted)).Add(float64(r.Deleted))
	for _, s := range r.Sinks {
		m.deliveries.WithLabelValues(w.name, s.Name, "success").Add(float64(s.Delivered))
		m.deliveries.WithLabelValues(w.name, s.Name, "failure").Add(float64(s.Failed))
		if n := s.Drift.Len(); n > 0 {
			m.drift.WithLabelValues(w.name, s.Name, "missing").Add(float64(len(s.Drift.Missing)))
			m.drift.WithLabelValues(w.name, s.Name, "modified").Add(float64(len(s.Drift.Modified)))
			m.drift.WithLabelValues(w.name, s.Name, "extra").Add(float64(len(s.Drift.Extra)))
		}
	}
}

// ObserveState sets the gauges that mirror the workspace's state: the last
// run and success, the tracked contacts, and each sink's queue. A sink
// that left the state leaves the gauges too.
func (w *Workspace) ObserveState(st state.Status) {
	m := w.m
	if st.LastRun != nil {
		m.lastRun.WithLabelValues(w.name).Set(seconds(st.LastRun.FinishedAt))
	}
	if st.LastSuccessAt != nil {
		m.lastSuccess.WithLabelValues(w.name).Set(seconds(*st.LastSuccessAt))
	}
	m.contacts.WithLabelValues(w.name).Set(float64(st.Contacts))
	w.forgetSinks(st.Sinks)
	for _, s := range st.Sinks {
		m.pending.WithLabelValues(w.name, s.Name).Set(float64(s.Pending))
		m.deadLetters.WithLabelValues(w.name, s.Name).Set(float64(s.DeadLetters))
		m.deliveries.WithLabelValues(w.name, s.Name, "success")
		m.deliveries.WithLabelValues(w.name, s.Name, "failure")
		if s.LastSuccessAt != nil {
			m.sinkLastSuccess.WithLabelValues(w.name, s.Name).Set(seconds(*s.LastSuccessAt))
		} else {
			m.sinkLastSuccess.DeleteLabelValues(w.name, s.Name) // reset since
		}
	}
}

// forgetSinks deletes the series of sinks that left the state. Only those:
// resetting every series would let a scrape in between see none.
func (w *Workspace) forgetSinks(current []state.SinkStatus) {
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	now := map[string]bool{}
	for _, s := range current {
		now[s.Name] = true
	}
	for name := range m.sinks[w.name] {
		if !now[name] {
			m.pending.DeleteLabelValues(w.name, name)
			m.deadLetters.DeleteLabelValues(w.name, name)
			m.sinkLastSuccess.DeleteLabelValues(w.name, name)
		}
	}
	m.sinks[w.name] = now
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
