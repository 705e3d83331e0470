package engine

import (
	"context"
	"testing"
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
