package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/fakeconnect"
	"github.com/connect-sync/connect-sync/internal/state"
)

// BenchmarkNoChangeRun measures the steady-state poll: fetch, decode and
// diff 10,000 contacts with nothing to deliver.
func BenchmarkNoChangeRun(b *testing.B) {
	h := newHarness(b, 10_000, Sink{Name: "r", Type: "test", Sink: &recorder{}})
	if _, err := h.engine.Run(context.Background(), Options{MaxDeleteFraction: 0.5}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.engine.Run(context.Background(), Options{MaxDeleteFraction: 0.5}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiff measures the comparison of 10,000 fetched contacts with the
// checkpoint: unchanged ones are recognised by their bytes; changed (and
// new) ones are parsed and hashed by content.
func BenchmarkDiff(b *testing.B) {
	list := fakeconnect.Generated(fakeconnect.Options{Contacts: 10_000, Seed: 1})
	checkpoint := make(map[string]state.Entry, len(list))
	for _, raw := range list {
		id, entry, err := reduce(raw)
		if err != nil {
			b.Fatal(err)
		}
		checkpoint[id] = entry
	}
	for _, bench := range []struct {
		name       string
		checkpoint map[string]state.Entry
	}{
		{"unchanged", checkpoint},
		{"all new", map[string]state.Entry{}},
	} {
		b.Run(bench.name, func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			for b.Loop() {
				d := newDiffer(bench.checkpoint, dir)
				for _, raw := range list {
					if err := d.observe(raw); err != nil {
						b.Fatal(err)
					}
				}
				d.spool.close()
			}
		})
	}
}

// BenchmarkChanges measures turning 1,000 new contacts into queued changes.
func BenchmarkChanges(b *testing.B) {
	list := fakeconnect.Generated(fakeconnect.Options{Contacts: 1_000, Seed: 1})
	d := newDiffer(map[string]state.Entry{}, b.TempDir())
	for _, raw := range list {
		if err := d.observe(raw); err != nil {
			b.Fatal(err)
		}
	}
	p := d.plan(emptySnapshots{}, enricher(nil), time.Now())
	defer p.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.changes(b.Context(), p.changed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChangedRun measures a poll of 100,000 contacts of which 1,000
// changed, delivered to a sink that accepts everything: next to
// BenchmarkNoChangeRun's cost per contact, what the changes add (their
// parsing, previous snapshots, commit and acknowledgements).
func BenchmarkChangedRun(b *testing.B) {
	const contacts, changed = 100_000, 1_000
	h := newHarness(b, contacts, Sink{Name: "r", Type: "test", Sink: &recorder{}})
	if _, err := h.engine.Run(context.Background(), Options{MaxDeleteFraction: 0.5}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		for i := 1; i <= contacts; i += contacts / changed {
			h.src.edit(i, "jobTitle", fmt.Sprintf("Round %d", round))
		}
		b.StartTimer()
		if _, err := h.engine.Run(context.Background(), Options{MaxDeleteFraction: 0.5}); err != nil {
			b.Fatal(err)
		}
	}
}
