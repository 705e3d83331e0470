package backend

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"
)

// The shared state's errors quote what its servers say (an -ERR, a
// JetStream API error's description), which may echo the credentials of
// state.nats back. They reach the logs, the run records and status from
// here, so the Shared backend redacts every error it returns, those of the
// workspaces' state and the leases' logs included.

// redactedStore is a workspace's state whose errors are redacted.
type redactedStore struct {
	st     state.Store
	redact *secret.Redactor
}

func (s *redactedStore) Checkpoint(ctx context.Context) (map[string]state.Entry, error) {
	v, err := s.st.Checkpoint(ctx)
	return v, s.redact.Error(err)
}

func (s *redactedStore) IDs(ctx context.Context) ([]string, error) {
	v, err := s.st.IDs(ctx)
	return v, s.redact.Error(err)
}

func (s *redactedStore) Snapshots(ctx context.Context, ids []string) (map[string]json.RawMessage, error) {
	v, err := s.st.Snapshots(ctx, ids)
	return v, s.redact.Error(err)
}

func (s *redactedStore) Commit(ctx context.Context, batch []state.Detected) error {
	return s.redact.Error(s.st.Commit(ctx, batch))
}

func (s *redactedStore) Touch(ctx context.Context, batch []state.Touch) error {
	return s.redact.Error(s.st.Touch(ctx, batch))
}

func (s *redactedStore) Sinks(ctx context.Context) (map[string]state.SinkInfo, error) {
	v, err := s.st.Sinks(ctx)
	return v, s.redact.Error(err)
}

func (s *redactedStore) RegisterSink(ctx context.Context, name string, info state.SinkInfo) error {
	return s.redact.Error(s.st.RegisterSink(ctx, name, info))
}

func (s *redactedStore) DropSink(ctx context.Context, name string) error {
	return s.redact.Error(s.st.DropSink(ctx, name))
}

func (s *redactedStore) UpdateSink(ctx context.Context, name string, update func(*state.SinkInfo)) error {
	return s.redact.Error(s.st.UpdateSink(ctx, name, update))
}

func (s *redactedStore) Backfill(ctx context.Context, sink string, now time.Time, newID func() string) (int, error) {
	v, err := s.st.Backfill(ctx, sink, now, newID)
	return v, s.redact.Error(err)
}

func (s *redactedStore) Queue(ctx context.Context, sink string, after uint64, limit int) ([]state.Queued, error) {
	v, err := s.st.Queue(ctx, sink, after, limit)
	return v, s.redact.Error(err)
}

func (s *redactedStore) Enqueue(ctx context.Context, sink string, changes []contact.Change) error {
	return s.redact.Error(s.st.Enqueue(ctx, sink, changes))
}

func (s *redactedStore) Ack(ctx context.Context, sink string, seqs []uint64) error {
	return s.redact.Error(s.st.Ack(ctx, sink, seqs))
}

func (s *redactedStore) Bury(ctx context.Context, sink string, burials []state.Burial) error {
	return s.redact.Error(s.st.Bury(ctx, sink, burials))
}

func (s *redactedStore) Pending(ctx context.Context, sink string) (int, error) {
	v, err := s.st.Pending(ctx, sink)
	return v, s.redact.Error(err)
}

func (s *redactedStore) Redeliver(ctx context.Context, sink, event string) (int, error) {
	v, err := s.st.Redeliver(ctx, sink, event)
	return v, s.redact.Error(err)
}

func (s *redactedStore) Memo(sink string) sinks.Memo {
	return &redactedMemo{m: s.st.Memo(sink), redact: s.redact}
}

func (s *redactedStore) ImportedContact(ctx context.Context, fingerprint string) (state.Import, bool, error) {
	v, ok, err := s.st.ImportedContact(ctx, fingerprint)
	return v, ok, s.redact.Error(err)
}

func (s *redactedStore) BeginImports(ctx context.Context, fingerprints []string) error {
	return s.redact.Error(s.st.BeginImports(ctx, fingerprints))
}

func (s *redactedStore) RecordImport(ctx context.Context, fingerprint, contactID string) error {
	return s.redact.Error(s.st.RecordImport(ctx, fingerprint, contactID))
}

func (s *redactedStore) AbandonImport(ctx context.Context, fingerprint string) error {
	return s.redact.Error(s.st.AbandonImport(ctx, fingerprint))
}

func (s *redactedStore) RecordRun(ctx context.Context, r state.Run) error {
	return s.redact.Error(s.st.RecordRun(ctx, r))
}

func (s *redactedStore) Status(ctx context.Context) (state.Status, error) {
	v, err := s.st.Status(ctx)
	return v, s.redact.Error(err)
}

// redactedMemo is a sink's memo whose errors are redacted.
type redactedMemo struct {
	m      sinks.Memo
	redact *secret.Redactor
}

func (m *redactedMemo) Get(ctx context.Context, contactID string) ([]byte, error) {
	v, err := m.m.Get(ctx, contactID)
	return v, m.redact.Error(err)
}

func (m *redactedMemo) Put(ctx context.Context, contactID string, value []byte) error {
	return m.redact.Error(m.m.Put(ctx, contactID, value))
}

func (m *redactedMemo) Delete(ctx context.Context, contactID string) error {
	return m.redact.Error(m.m.Delete(ctx, contactID))
}

func (m *redactedMemo) Len(ctx context.Context) (int, error) {
	v, err := m.m.Len(ctx)
	return v, m.redact.Error(err)
}

// redactedLogs is a log handler that redacts the errors logged through
// it: the leases log the errors of their bucket's requests.
type redactedLogs struct {
	next   slog.Handler
	redact *secret.Redactor
}

// redactedLogger is logger with the errors it logs redacted; nil for nil.
func redactedLogger(logger *slog.Logger, redact *secret.Redactor) *slog.Logger {
	if logger == nil {
		return nil
	}
	return slog.New(&redactedLogs{next: logger.Handler(), redact: redact})
}

func (h *redactedLogs) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *redactedLogs) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactedLogs) WithAttrs(attrs []slog.Attr) slog.Handler {
	redacted := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		redacted[i] = h.attr(a)
	}
	return &redactedLogs{next: h.next.WithAttrs(redacted), redact: h.redact}
}

func (h *redactedLogs) WithGroup(name string) slog.Handler {
	return &redactedLogs{next: h.next.WithGroup(name), redact: h.redact}
}

// attr is a with its errors redacted, in groups too.
func (h *redactedLogs) attr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindGroup:
		group := a.Value.Group()
		redacted := make([]any, len(group))
		for i, g := range group {
			redacted[i] = h.attr(g)
		}
		return slog.Group(a.Key, redacted...)
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.Any(a.Key, h.redact.Error(err))
		}
	}
	return a
}

// Interface guards.
var (
	_ state.Store  = (*redactedStore)(nil)
	_ sinks.Memo   = (*redactedMemo)(nil)
	_ slog.Handler = (*redactedLogs)(nil)
)
