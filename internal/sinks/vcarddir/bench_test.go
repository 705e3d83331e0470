package vcarddir

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// benchWant is a sinks.Want whose ids are sorted once, as a state's
// would be: the benchmarks measure the sink, not the fake.
type benchWant struct {
	ids      []string
	contacts map[string]contact.Contact
}

func (w *benchWant) IDs(context.Context) ([]string, error)        { return w.ids, nil }
func (w *benchWant) Queued(context.Context, string) (bool, error) { return false, nil }

func (w *benchWant) Contacts(_ context.Context, ids []string) ([]contact.Contact, error) {
	list := make([]contact.Contact, 0, len(ids))
	for _, id := range ids {
		list = append(list, w.contacts[id])
	}
	return list, nil
}

// benchFolder writes n generated contacts' cards into a new folder, as
// the sink writes them (without its fsyncs, which a no-change run never
// pays), and returns the folder, its want and a seal that trusts every
// card: what a run finds after the folder's first sync once a round of
// the sweep has gone by.
func benchFolder(b *testing.B, n int) (string, *benchWant, []byte) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "cards")
	if err := os.Mkdir(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	w := &benchWant{contacts: make(map[string]contact.Contact, n)}
	opts := card.Options{Version: card.Version3, SourceURL: sourceURL}
	var buf bytes.Buffer
	for _, c := range eventtest.Generated(b, n) {
		w.ids = append(w.ids, c.ID)
		w.contacts[c.ID] = c
		buf.Reset()
		if err := card.Encode(&buf, c, opts); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fileName(c.ID)), buf.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(w.ids)
	folder, err := statFolder(dir)
	if err != nil {
		b.Fatal(err)
	}
	sealed, err := json.Marshal(seal{Folder: folder, Checked: time.Now().Add(time.Second).UnixNano(), RoundStart: time.Now().UnixNano()})
	if err != nil {
		b.Fatal(err)
	}
	return dir, w, sealed
}

func benchSink(b *testing.B, dir string) *Sink {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Path = dir
	s, err := cfg.Open(sinks.Env{Name: "cards", SourceURL: sourceURL})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.(*Sink).Close() })
	return s.(*Sink)
}

// BenchmarkAuditUntouched measures the audit of a no-change run of a
// folder of 100,000 cards, the budget being 17 ms (5% of a
// 0.34 s poll): "sweep" is every run's, one stat of the folder and the
// sampled slice (1,000 lstats at the default audit_runs, and a twentieth of
// them read); "whole" is a run's after the folder's entries changed,
// every card looked at and the folder's names read.
func BenchmarkAuditUntouched(b *testing.B) {
	dir, want, sealed := benchFolder(b, 100_000)
	b.Run("sweep", func(b *testing.B) {
		next := sealed
		for b.Loop() {
			s := benchSink(b, dir)
			d, err := s.Audit(b.Context(), want, next, false)
			if err != nil || d.Len() != 0 {
				b.Fatalf("drift %+v, %v", d, err)
			}
			if next, err = s.Seal(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		moved := readSeal(sealed)
		moved.Folder.MTime--
		prev, err := json.Marshal(moved)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			s := benchSink(b, dir)
			if d, err := s.Audit(b.Context(), want, prev, false); err != nil || d.Len() != 0 {
				b.Fatalf("drift %+v, %v", d, err)
			}
		}
	})
}
