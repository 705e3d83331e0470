package nats

import (
	"fmt"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/natstest"
)

// BenchmarkDeliver publishes batches of 500 events of about 1 KB, as the
// engine hands them over, to a loopback server: one publish awaiting its
// acknowledgement at a time, and the default window.
func BenchmarkDeliver(b *testing.B) {
	srv := natstest.Start(b)
	batch := make([]contact.Change, 500)
	for i := range batch {
		batch[i] = eventtest.Change(b, contact.Created, fmt.Sprint(i+1))
		batch[i].Contact = eventtest.Parse(b, fmt.Sprintf(`{"id":%d,"email":"c%d@example.com","note":%q}`, i+1, i+1, strings.Repeat("n", 850)))
	}
	if n, _ := event.Encode("default", batch[0]); len(n) < 900 || len(n) > 1200 {
		b.Fatalf("events of %d bytes", len(n))
	}
	for _, concurrency := range []int{1, 16, DefaultConfig().Concurrency} {
		b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
			s, _ := open(b, []string{srv.URL}, func(c *Config) { c.Concurrency = concurrency })
			round := 0
			for b.Loop() {
				round++
				for i := range batch { // new events, not duplicates the stream drops
					batch[i].ID = fmt.Sprintf("msg_%d_%d_%d", concurrency, round, i)
				}
				for _, err := range s.Deliver(b.Context(), batch) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
