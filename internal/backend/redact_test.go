package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/secret/secrettest"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"
)

const stateToken, statePassword = "state-token-0123456789abc", "state-password-0123456789"

// A state server that quotes the credentials of state.nats back in its
// -ERR has them shown in no error of OpenShared nor SharedStatus.
func TestEchoedCredentialsNeverShown(t *testing.T) {
	url := natstest.Echo(t)
	for _, auth := range []func(*config.StateNATS){
		func(s *config.StateNATS) { s.Token = secret.New(stateToken) },
		func(s *config.StateNATS) { s.User, s.Password = "alice", secret.New(statePassword) },
	} {
		s := settings(url, "a")
		s.Timeout = time.Second
		auth(&s)
		_, err := OpenShared(t.Context(), s, nil)
		_, _, statusErr := SharedStatus(t.Context(), s, []string{"acme"})
		for _, err := range []error{err, statusErr} {
			if err == nil || !strings.Contains(err.Error(), "[redacted]") {
				t.Fatalf("error %v: the echo was not quoted, so the test proves nothing", err)
			}
			for _, secret := range []string{stateToken, statePassword} {
				if leak := secrettest.Leak(err.Error(), secret); leak != "" {
					t.Errorf("%q of a secret is shown: %v", leak, err)
				}
			}
			if want := "state.nats: connect to " + url + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %v, want it to start %q", err, want)
			}
		}
	}
}

// failingStore is a state whose every method fails with err.
type failingStore struct{ err error }

func (f failingStore) Checkpoint(context.Context) (map[string]state.Entry, error) { return nil, f.err }
func (f failingStore) IDs(context.Context) ([]string, error)                      { return nil, f.err }
func (f failingStore) Snapshots(context.Context, []string) (map[string]json.RawMessage, error) {
	return nil, f.err
}
func (f failingStore) Commit(context.Context, []state.Detected) error           { return f.err }
func (f failingStore) Touch(context.Context, []state.Touch) error               { return f.err }
func (f failingStore) Enqueue(context.Context, string, []contact.Change) error  { return f.err }
func (f failingStore) Sinks(context.Context) (map[string]state.SinkInfo, error) { return nil, f.err }
func (f failingStore) RegisterSink(context.Context, string, state.SinkInfo) error {
	return f.err
}
func (f failingStore) DropSink(context.Context, string) error { return f.err }
func (f failingStore) UpdateSink(context.Context, string, func(*state.SinkInfo)) error {
	return f.err
}
func (f failingStore) Backfill(context.Context, string, time.Time, func() string) (int, error) {
	return 0, f.err
}
func (f failingStore) Queue(context.Context, string, uint64, int) ([]state.Queued, error) {
	return nil, f.err
}
func (f failingStore) Ack(context.Context, string, []uint64) error            { return f.err }
func (f failingStore) Bury(context.Context, string, []state.Burial) error     { return f.err }
func (f failingStore) Pending(context.Context, string) (int, error)           { return 0, f.err }
func (f failingStore) Redeliver(context.Context, string, string) (int, error) { return 0, f.err }
func (f failingStore) Memo(string) sinks.Memo                                 { return failingMemo(f) }
func (f failingStore) ImportedContact(context.Context, string) (state.Import, bool, error) {
	return state.Import{}, false, f.err
}
func (f failingStore) BeginImports(context.Context, []string) error       { return f.err }
func (f failingStore) RecordImport(context.Context, string, string) error { return f.err }
func (f failingStore) AbandonImport(context.Context, string) error        { return f.err }
func (f failingStore) RecordRun(context.Context, state.Run) error         { return f.err }
func (f failingStore) Status(context.Context) (state.Status, error)       { return state.Status{}, f.err }

type failingMemo struct{ err error }

func (f failingMemo) Get(context.Context, string) ([]byte, error) { return nil, f.err }
func (f failingMemo) Put(context.Context, string, []byte) error   { return f.err }
func (f failingMemo) Delete(context.Context, string) error        { return f.err }
func (f failingMemo) Len(context.Context) (int, error)            { return 0, f.err }

// Every method of a shared workspace's state, and of its sinks' memos,
// redacts its error and keeps what it wraps for errors.Is.
func TestRedactedStore(t *testing.T) {
	cause := fmt.Errorf("nats: API error: description=you sent %s: %w", strings.ToUpper(stateToken), state.ErrNotFound)
	st := &redactedStore{st: failingStore{err: cause}, redact: secret.NewRedactor(secret.New(stateToken))}
	check := func(v reflect.Value) {
		t.Helper()
		for i := range v.NumMethod() {
			m, name := v.Method(i), v.Type().Method(i).Name
			if name == "Memo" {
				continue
			}
			args := make([]reflect.Value, m.Type().NumIn())
			for j := range args {
				args[j] = reflect.Zero(m.Type().In(j))
			}
			args[0] = reflect.ValueOf(t.Context())
			out := m.Call(args)
			err, _ := out[len(out)-1].Interface().(error)
			switch {
			case err == nil:
				t.Errorf("%s: no error", name)
			case err.Error() != "nats: API error: description=you sent [redacted]: not registered":
				t.Errorf("%s: %v", name, err)
			case !errors.Is(err, state.ErrNotFound):
				t.Errorf("%s: errors.Is no longer finds what it wraps", name)
			}
		}
	}
	check(reflect.ValueOf(state.Store(st)))
	check(reflect.ValueOf(st.Memo("dav")))
}

// The leases' logs show an error without the credentials, in a group or
// added to the logger too.
func TestRedactedLogs(t *testing.T) {
	var out bytes.Buffer
	logger := redactedLogger(slog.New(slog.NewTextHandler(&out, nil)), secret.NewRedactor(secret.New(stateToken)))
	err := errors.New("bucket request: you sent " + stateToken)
	logger.With("first", err).WithGroup("g").Warn("lease: bucket request failed", "err", err, slog.Group("inner", "err", err), "n", 1)
	if leak := secrettest.Leak(out.String(), stateToken); leak != "" || strings.Count(out.String(), "[redacted]") != 3 {
		t.Errorf("the log line shows %q of the secret, or not three redactions:\n%s", leak, out.String())
	}
	if !strings.Contains(out.String(), "g.n=1") {
		t.Errorf("the other attributes were lost:\n%s", out.String())
	}
	if redactedLogger(nil, nil) != nil {
		t.Error("a nil logger became one")
	}
}
