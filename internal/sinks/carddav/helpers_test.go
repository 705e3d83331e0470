package carddav

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/sinks/sinktest"
)

const sourceURL = "https://connect.example.com"

// memo is an in-memory sinks.Memo.
type memo struct{ *sinktest.Memo }

func newMemo() *memo { return &memo{sinktest.NewMemo()} }

// record reads the contact's memo value.
func (m *memo) record(t testing.TB, id string) *record {
	t.Helper()
	b, _ := m.Get(t.Context(), id)
	if b == nil {
		return nil
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("memo of %s: %v: %s", id, err, b)
	}
	return &rec
}

func secretOf(s string) secret.String { return secret.New(s) }

// open opens a sink for cfg with memo m, failing the test on error.
func open(t testing.TB, cfg *Config, m sinks.Memo) *Sink {
	t.Helper()
	s, err := cfg.Open(sinks.Env{Name: "dav", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SourceURL: sourceURL, Memo: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.(*Sink).Close() })
	return s.(*Sink)
}

func change(kind contact.Kind, c contact.Contact) contact.Change {
	return contact.Change{ID: string(kind) + "-" + c.ID, Kind: kind, Contact: c}
}

// deliver delivers the changes and fails the test on any error.
func deliver(t testing.TB, s sinks.Sink, changes ...contact.Change) {
	t.Helper()
	for i, err := range s.Deliver(t.Context(), changes) {
		if err != nil {
			t.Errorf("change %d (%s %s): %v", i, changes[i].Kind, changes[i].Contact.ID, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func uidOf(id string) string { return card.UID(sourceURL, id) }

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
