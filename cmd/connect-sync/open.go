package main

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/metrics"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/source"
	"github.com/connect-sync/connect-sync/internal/state"
)

// openSource builds the Connect API client the config describes, counting
// its requests in m unless m is nil.
func openSource(cfg *config.Config, logger *slog.Logger, m *metrics.Metrics) (*source.Client, error) {
	key, err := cfg.Connect.Key()
	if err != nil {
		return nil, err
	}
	var observe func(string, int, time.Duration)
	if m != nil {
		observe = m.ObserveRequest
	}
	return source.New(source.Options{
		BaseURL:    cfg.Connect.BaseURL,
		APIKey:     key,
		Timeout:    cfg.Connect.Timeout,
		MaxRetries: cfg.Connect.MaxRetries,
		UserAgent:  "connect-sync/" + version(),
		Logger:     logger,
		Observe:    observe,
	})
}

// openSinks opens every configured sink, each with its memo in db and its
// counters in m (both nil for commands that deliver nothing, such as
// check). The caller closes them with closeSinks.
func openSinks(cfg *config.Config, logger *slog.Logger, db *state.DB, m *metrics.Metrics) ([]engine.Sink, error) {
	var opened []engine.Sink
	for _, s := range cfg.Sinks {
		env := sinks.Env{Name: s.Name, Logger: logger.With("sink", s.Name), SourceURL: cfg.Connect.BaseURL}
		if db != nil {
			env.Memo = db.Memo(s.Name)
		}
		if m != nil {
			env.Conflict = m.Conflict(s.Name)
		}
		sink, err := s.Config.Open(env)
		if err != nil {
			return nil, errors.Join(err, closeSinks(opened))
		}
		es := engine.Sink{Name: s.Name, Type: s.Type, Target: s.Config.Target(), Sink: sink}
		if f, ok := s.Config.(sinks.Formatter); ok {
			es.Format = f.Format()
		}
		opened = append(opened, es)
	}
	return opened, nil
}

// closeSinks releases what the sinks hold (connections, files).
func closeSinks(list []engine.Sink) error {
	var errs []error
	for _, s := range list {
		if c, ok := s.Sink.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}
