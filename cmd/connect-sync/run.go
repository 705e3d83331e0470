package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"reflect"
	"syscall"

	"github.com/connect-sync/connect-sync/internal/backend"
	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/lease"
	"github.com/connect-sync/connect-sync/internal/metrics"
	"github.com/connect-sync/connect-sync/internal/service"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

var runCommand = command{
	name:    "run",
	summary: "run as a service: sync on the config's schedule, serve metrics and health",
	usage:   "connect-sync run",
	doc: `Syncs each workspace on its own schedule, serves metrics and health on
http.listen, reloads the config on SIGHUP and stops gracefully on SIGTERM,
after the runs in progress.`,
	flags: func(fs *flag.FlagSet) action {
		c := commonFlags(fs)
		return func(ctx context.Context, _ []string, stdout, stderr io.Writer) error {
			return runRun(ctx, c, stdout, stderr)
		}
	},
}

// runRun is `connect-sync run`: the long-lived service. It handles SIGINT,
// SIGTERM and SIGHUP itself, from its first moment; main's ctx only tells
// it about a signal that came before that.
func runRun(ctx context.Context, c *common, stdout, stderr io.Writer) error {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	if ctx.Err() != nil {
		return nil
	}
	logger, cfg, err := c.load(stderr)
	if err != nil {
		return err
	}
	if err := checkKeys(cfg, logger); err != nil {
		return err
	}
	d := &daemon{configPath: c.configPath, initial: cfg, metrics: metrics.New(version(), true), logger: logger, residents: &sinks.Residents{}}
	svc := &service.Service{Reload: d.reload, Metrics: d.metrics, Logger: logger, HTTP: httpSettings(cfg.HTTP)}
	// The service holds the state for its whole life: a bbolt file (so
	// `status` asks the HTTP listener instead), or the leases of the
	// workspaces it takes in a shared JetStream.
	var leases *lease.Manager
	if cfg.State.Backend == config.BackendNATS {
		shared, err := backend.OpenShared(ctx, cfg.State.NATS, logger)
		if err != nil {
			return err
		}
		leases = shared.Leases()
		d.backend, svc.Leases, d.instance = shared, leases, leases.Instance()
	} else {
		file, err := backend.OpenFile(cfg.State.Path)
		if err != nil {
			return err
		}
		d.backend = file
	}
	svc.Status, svc.Redeliver = d.backend.Status, d.backend.Redeliver
	var ln net.Listener
	if cfg.HTTP.Listen != "" {
		if ln, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
			return errors.Join(fmt.Errorf("http.listen: %w", err), d.backend.Close())
		}
	}
	leasesDone := make(chan error, 1)
	stopLeases := func() {}
	if leases != nil {
		leaseCtx, cancel := context.WithCancel(context.Background())
		go func() { leasesDone <- leases.Run(leaseCtx) }()
		stopLeases = func() {
			cancel()
			<-leasesDone // the leases are given back: others take over at once
		}
		logger.Info("sharing the workspaces with the other instances", "instance", leases.Instance(), "lease_ttl", leases.TTL())
	}
	logger.Info("connect-sync started", "version", version(), "config", c.configPath, "workspaces", workspaceNames(cfg))
	err = svc.Serve(d.settings(cfg), signals, ln)
	if errors.Is(err, service.ErrInterrupted) || errors.Is(err, service.ErrStuck) {
		// Not even the state is closed: a bbolt file is consistent after
		// every commit, and the kernel drops the lock; leases lapse a TTL
		// after their last renewal.
		return err
	}
	stopLeases()
	logger.Info("connect-sync stopped")
	return errors.Join(err, d.residents.Close(), d.backend.Close())
}

// daemon is what the service's runs share: the state file, the metrics,
// and the config file to reload.
type daemon struct {
	configPath string
	initial    *config.Config // the config the service started with
	backend    backend.Backend
	instance   string // this instance's name among those sharing the state; "" alone
	metrics    *metrics.Metrics
	logger     *slog.Logger
	// residents is what the sinks keep from one run to the next, for the
	// service's life: a sink removed by a reload leaves its part until
	// the service stops.
	residents *sinks.Residents
}

// settings turns a config into the service's settings; its runs use that
// config until a reload replaces it.
func (d *daemon) settings(cfg *config.Config) service.Settings {
	settings := service.Settings{
		Jitter:          cfg.ScheduleJitter,
		RunOnStart:      cfg.RunOnStart,
		ShutdownTimeout: cfg.ShutdownTimeout,
	}
	for _, ws := range cfg.Workspaces {
		run := workspaceRun{cfg: cfg, ws: &ws, logger: workspaceLogger(d.logger, cfg, ws.Name), metrics: d.metrics.Workspace(ws.Name), instance: d.instance, residents: d.residents}
		settings.Workspaces = append(settings.Workspaces, service.Workspace{
			Name:     ws.Name,
			Schedule: ws.Cron,
			Job: func(ctx context.Context, stop <-chan struct{}) (engine.Report, error) {
				st, err := d.backend.Workspace(ctx, ws.Name)
				if err != nil {
					return engine.Report{}, err
				}
				// The source is built for each run, so that a rotated
				// api_key_file is read again.
				opts := runOptions(&ws)
				opts.Stop = stop
				return run.sync(ctx, st, opts, nil)
			},
		})
	}
	return settings
}

// reload reads and checks the config file again, on SIGHUP. The state
// file and the listener stay as they are until a restart.
func (d *daemon) reload() (service.Settings, error) {
	cfg, err := config.Load(d.configPath)
	if err != nil {
		return service.Settings{}, err
	}
	if err := checkKeys(cfg, d.logger); err != nil {
		return service.Settings{}, err
	}
	if !reflect.DeepEqual(cfg.State, d.initial.State) {
		d.logger.Warn("the state settings changed: they apply after a restart")
	}
	if !reflect.DeepEqual(cfg.HTTP, d.initial.HTTP) {
		d.logger.Warn("the http settings changed: they apply after a restart", "listen_in_use", d.initial.HTTP.Listen)
	}
	return d.settings(cfg), nil
}

// httpSettings are the listener's: the host of http.listen is one of its
// names, as it is the one `status` and `redeliver` call it by.
func httpSettings(h config.HTTP) service.HTTPSettings {
	host, _, _ := net.SplitHostPort(h.Listen)
	return service.HTTPSettings{AllowedHosts: append([]string{host}, h.AllowedHosts...), IdleTimeout: h.IdleTimeout}
}

// checkKeys checks the workspaces' API keys, so that the service does not
// start, or reload, into runs that can only fail. A workspace without its
// key (a credential file not there yet, say) holds up no other: it is
// logged, and its runs fail until the key is there; only when no workspace
// has one is it an error.
func checkKeys(cfg *config.Config, logger *slog.Logger) error {
	var errs []error
	for _, ws := range cfg.Workspaces {
		if _, err := ws.Connect.Key(); err != nil {
			if len(cfg.Workspaces) > 1 {
				err = fmt.Errorf("workspace %s: %w", ws.Name, err)
			}
			errs = append(errs, err)
		}
	}
	if len(errs) == len(cfg.Workspaces) {
		return errors.Join(errs...)
	}
	for _, err := range errs {
		logger.Warn("a workspace has no API key: its runs fail until it has", "error", err)
	}
	return nil
}
