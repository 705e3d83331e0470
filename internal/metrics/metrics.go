// Package metrics holds connect-sync's Prometheus series, in a registry of
// their own: the daemon serves them on /metrics, and a one-shot run writes
// them as a node_exporter textfile. The names are fixed, because
// dashboards and alerts rely on them, and every label value is bounded:
// results, change kinds, endpoints, status codes and configured sink
// names, never a contact.
package metrics

import (
	"errors"
	"net/http"
	"runtime"
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
	sinks map[string]bool // the sinks the per-sink gauges are set for

	runs            *prometheus.CounterVec
	runsSkipped     prometheus.Counter
	runDuration     prometheus.Histogram
	lastRun         prometheus.Gauge
	lastSuccess     prometheus.Gauge
	contacts        prometheus.Gauge
	changes         *prometheus.CounterVec
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	deliveries      *prometheus.CounterVec
	pending         *prometheus.GaugeVec
	deadLetters     *prometheus.GaugeVec
	conflicts       *prometheus.CounterVec
	sinkLastSuccess *prometheus.GaugeVec
}

// New registers connect-sync's series. Pass runtime to add the Go and
// process collectors, which a long-running process wants and a textfile
// must not have (node_exporter reports its own go_ and process_ series).
func New(version string, runtimeCollectors bool) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_runs_total",
			Help: "Sync runs that finished, by result; a run that left changes pending is a failure.",
		}, []string{"result"}),
		runsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connect_sync_runs_skipped_total",
			Help: "Scheduled runs skipped because the previous run was still going.",
		}),
		runDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "connect_sync_run_duration_seconds",
			Help:    "How long sync runs took.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 14), // 50 ms to about 2 h
		}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connect_sync_last_run_timestamp_seconds",
			Help: "When the last sync run finished, whatever its result.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connect_sync_last_success_timestamp_seconds",
			Help: "When the last successful sync run finished.",
		}),
		contacts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connect_sync_contacts",
			Help: "Contacts tracked in the checkpoint.",
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_changes_total",
			Help: "Contact changes detected, by kind.",
		}, []string{"kind"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_source_requests_total",
			Help: `Requests to the Connect API, each attempt counted, by endpoint and HTTP status ("error" when no response came).`,
		}, []string{"endpoint", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "connect_sync_source_request_duration_seconds",
			Help:    "How long requests to the Connect API took, the body included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"endpoint"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_sink_deliveries_total",
			Help: "Changes handed to a sink, by sink and whether the sink acknowledged them.",
		}, []string{"sink", "result"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connect_sync_sink_pending",
			Help: "Changes queued for a sink and not acknowledged yet.",
		}, []string{"sink"}),
		deadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connect_sync_sink_dead_letters",
			Help: "Changes a sink refused for good, kept for `connect-sync redeliver`.",
		}, []string{"sink"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connect_sync_sink_conflicts_total",
			Help: "Changes that met a destination changed behind connect-sync's back (a CardDAV card edited on the server), by resolution.",
		}, []string{"sink", "resolution"}),
		sinkLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connect_sync_sink_last_success_timestamp_seconds",
			Help: "When a sink last finished a run with nothing left pending.",
		}, []string{"sink"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "connect_sync_build_info",
		Help: "The running connect-sync's version; always 1.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	m.reg.MustRegister(m.runs, m.runsSkipped, m.runDuration, m.lastRun, m.lastSuccess, m.contacts,
		m.changes, m.requests, m.requestDuration, m.deliveries, m.pending, m.deadLetters, m.conflicts, m.sinkLastSuccess, buildInfo)
	if runtimeCollectors {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	// Series that exist from the start, so rate() and absent() work before
	// the first failure or the first deletion.
	for _, result := range []string{"success", "failure"} {
		m.runs.WithLabelValues(result)
	}
	for _, kind := range []contact.Kind{contact.Created, contact.Updated, contact.Deleted} {
		m.changes.WithLabelValues(string(kind))
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

// RunSkipped counts a scheduled run that did not start because the
// previous one was still going.
func (m *Metrics) RunSkipped() { m.runsSkipped.Inc() }

// ObserveRequest records one attempt at a Connect API request; status 0
// means no response arrived. It fits source.Options.Observe.
func (m *Metrics) ObserveRequest(endpoint string, status int, elapsed time.Duration) {
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(endpoint, code).Inc()
	m.requestDuration.WithLabelValues(endpoint).Observe(elapsed.Seconds())
}

// Conflict returns the sinks.Env.Conflict counter of one sink.
func (m *Metrics) Conflict(sink string) func(resolution string) {
	return func(resolution string) { m.conflicts.WithLabelValues(sink, resolution).Inc() }
}

// ObserveRun records a finished run: its result and duration, the changes
// it detected and what each sink acknowledged or refused. A run stopped
// early by a shutdown counts as neither a success nor a failure.
func (m *Metrics) ObserveRun(started, finished time.Time, r engine.Report, err error) {
	switch {
	case err == nil:
		m.runs.WithLabelValues("success").Inc()
		m.runDuration.Observe(finished.Sub(started).Seconds())
	case !errors.Is(err, engine.ErrStopped):
		m.runs.WithLabelValues("failure").Inc()
		m.runDuration.Observe(finished.Sub(started).Seconds())
	}
	m.changes.WithLabelValues(string(contact.Created)).Add(float64(r.Created))
	m.changes.WithLabelValues(string(contact.Updated)).Add(float64(r.Updated))
	m.changes.WithLabelValues(string(contact.Deleted)).Add(float64(r.Deleted))
	for _, s := range r.Sinks {
		m.deliveries.WithLabelValues(s.Name, "success").Add(float64(s.Delivered))
		m.deliveries.WithLabelValues(s.Name, "failure").Add(float64(s.Failed))
	}
}

// ObserveState sets the gauges that mirror the state file: the last run
// and success, the tracked contacts, and each sink's queue. A sink that
// left the state file leaves the gauges too.
func (m *Metrics) ObserveState(st state.Status) {
	if st.LastRun != nil {
		m.lastRun.Set(seconds(st.LastRun.FinishedAt))
	}
	if st.LastSuccessAt != nil {
		m.lastSuccess.Set(seconds(*st.LastSuccessAt))
	}
	m.contacts.Set(float64(st.Contacts))
	m.forgetSinks(st.Sinks)
	for _, s := range st.Sinks {
		m.pending.WithLabelValues(s.Name).Set(float64(s.Pending))
		m.deadLetters.WithLabelValues(s.Name).Set(float64(s.DeadLetters))
		m.deliveries.WithLabelValues(s.Name, "success")
		m.deliveries.WithLabelValues(s.Name, "failure")
		if s.LastSuccessAt != nil {
			m.sinkLastSuccess.WithLabelValues(s.Name).Set(seconds(*s.LastSuccessAt))
		} else {
			m.sinkLastSuccess.DeleteLabelValues(s.Name) // reset since
		}
	}
}

// forgetSinks deletes the series of sinks that left the state file. Only
// those: resetting every series would let a scrape in between see none.
func (m *Metrics) forgetSinks(current []state.SinkStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := map[string]bool{}
	for _, s := range current {
		now[s.Name] = true
	}
	for name := range m.sinks {
		if !now[name] {
			m.pending.DeleteLabelValues(name)
			m.deadLetters.DeleteLabelValues(name)
			m.sinkLastSuccess.DeleteLabelValues(name)
		}
	}
	m.sinks = now
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
