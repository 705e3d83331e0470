package carddav

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// BenchmarkPut measures card creations per second against the real
// servers with 1 and 4 connections, the figures behind the default
// concurrency: go test -run '^$' -bench Put -benchtime 200x.
func BenchmarkPut(b *testing.B) {
	for _, srv := range servers {
		b.Run(srv.name, func(b *testing.B) {
			s := srv.start(b)
			for _, n := range []int{1, 4} {
				b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) {
					cfg := bookConfig(s, fmt.Sprintf("bench-%d-%d", n, b.N))
					cfg.Concurrency = n
					sink := open(b, cfg, newMemo())
					batch := make([]contact.Change, b.N)
					for i := range batch {
						batch[i] = change(contact.Created, contact.Contact{ID: strconv.Itoa(i), FullName: "Person " + strconv.Itoa(i)})
					}
					b.ResetTimer()
					for i, err := range sink.Deliver(b.Context(), batch) {
						if err != nil {
							b.Fatalf("card %d: %v", i, err)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "PUT/s")
				})
			}
		})
	}
}
