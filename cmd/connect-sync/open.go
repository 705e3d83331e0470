package main

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/engine"
	"github.com/connect-sync/connect-sync/internal/metrics"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/source"
	"github.com/connect-sync/connect-sync/internal/state"
)

// openSource builds the Connect API client of a workspace, counting its
// requests in m unless m is nil; redact is the workspace's redactor. An
// instance sharing the workspaces with others names itself in its
// User-Agent, so that the API's logs tell them apart.
func openSource(ws *config.Workspace, redact *secret.Redactor, logger *slog.Logger, m *metrics.Workspace, instance string) (*source.Client, error) {
	key, err := ws.Connect.Key()
	if err != nil {
		return nil, err
	}
	var observe func(string, int, time.Duration)
	if m != nil {
		observe = m.ObserveRequest
	}
	return source.New(source.Options{
		BaseURL:    ws.Connect.BaseURL,
		APIKey:     key,
		Redactor:   redact,
		Timeout:    ws.Connect.Timeout,
		MaxRetries: ws.Connect.MaxRetries,
		UserAgent:  userAgent(instance),
		Logger:     logger,
		Observe:    observe,
	})
}

func userAgent(instance string) string {
	if instance == "" {
		return "connect-sync/" + version()
	}
	return "connect-sync/" + version() + " (instance " + instance + ")"
}

// openSinks opens every sink of a workspace, each with its memo in st and
// its counters in m (both nil for commands that deliver nothing, such as
// check); redact is the workspace's redactor, and residents what the
// service's sinks keep from run to run (nil in a one-shot command). The
// caller closes them with closeSinks.
func openSinks(ws *config.Workspace, redact *secret.Redactor, logger *slog.Logger, st state.Store, m *metrics.Workspace, residents *sinks.Residents) ([]engine.Sink, error) {
	var opened []engine.Sink
	for _, s := range ws.Sinks {
		env := sinks.Env{Name: s.Name, Logger: logger.With("sink", s.Name), SourceURL: ws.Connect.BaseURL, Redactor: redact, Residents: residents}
		env.Workspace = ws.Name
		if st != nil {
			env.Memo = st.Memo(s.Name)
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
		if f, ok := s.Config.(sinks.FormerTarget); ok {
			es.FormerTarget = f.FormerTarget()
		}
		if d, ok := s.Config.(sinks.Drifting); ok {
			es.OnDrift = d.DriftPolicy()
		}
		opened = append(opened, es)
	}
	return opened, nil
}

// redactor removes every secret of a workspace (its API key, its sinks'
// passwords, tokens and credential headers) from what the source and the
// sinks quote of a server's answers: one value may serve as two secrets,
// so a server may quote another's. It reads the files that hold them, so
// a command builds it once, for its run. A secret that cannot be read is
// left out: opening what uses it reports that.
func redactor(ws *config.Workspace) *secret.Redactor {
	var all []secret.String
	if key, err := ws.Connect.Key(); err == nil {
		all = append(all, key)
	}
	for _, s := range ws.Sinks {
		if h, ok := s.Config.(sinks.SecretHolder); ok {
			all = append(all, h.Secrets()...)
		}
	}
	return secret.NewRedactor(all...)
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
