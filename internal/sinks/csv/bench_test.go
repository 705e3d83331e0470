package csv

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
)

// BenchmarkEncodeRow measures writing 1,000 generated contacts as CSV rows.
func BenchmarkEncodeRow(b *testing.B) {
	contacts := eventtest.Generated(b, 1_000)
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range contacts {
			if _, _, err := encodeRow(c, true); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkUpdate measures a run that changes 1% of a 100,000-row file:
// read the file, stage 1,000 updates, write it again.
func BenchmarkUpdate(b *testing.B) {
	var all []contact.Change
	for _, c := range eventtest.Generated(b, 100_000) {
		all = append(all, contact.Change{Kind: contact.Created, Contact: c})
	}
	s := &Sink{path: filepath.Join(b.TempDir(), "contacts.csv"), guard: true}
	deliver(b, s, all)
	updates := make([]contact.Change, 0, len(all)/100)
	for i := 0; i < len(all); i += 100 {
		ch := all[i]
		ch.Kind, ch.Contact.JobTitle = contact.Updated, "Benchmark"
		updates = append(updates, ch)
	}
	b.ResetTimer()
	for b.Loop() {
		deliver(b, s, updates)
	}
}

func deliver(b *testing.B, s *Sink, changes []contact.Change) {
	for _, err := range s.Deliver(context.Background(), changes) {
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Commit(context.Background()); err != nil {
		b.Fatal(err)
	}
}
