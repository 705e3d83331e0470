package webhook

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
)

// BenchmarkDeliver posts 1,000 events of about 1 KB each to a loopback
// receiver with concurrency 4, in batches of 500 as the engine hands them.
func BenchmarkDeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	h := open(b, srv.URL, func(c *Config) { c.Concurrency = 4 })
	note := strings.Repeat("Met at the trade fair; follow up in spring. ", 16)
	changes := make([]contact.Change, 1000)
	for i := range changes {
		id := fmt.Sprint(i + 1)
		raw := fmt.Sprintf(`{"id":%s,"email":"c%s@example.com","firstName":"Zoë","lastName":"Example","note":%q}`, id, id, note)
		changes[i] = contact.Change{ID: "msg_" + id, Kind: contact.Created, DetectedAt: time.Now(), Contact: eventtest.Parse(b, raw)}
	}
	if n, _ := encodeEvent("acme", changes[0], false); len(n) < 900 || len(n) > 1200 {
		b.Fatalf("an event is %d bytes, want about 1 KB", len(n))
	}
	rounds := 0
	for b.Loop() {
		for batch := range slices.Chunk(changes, 500) {
			for _, err := range h.Deliver(b.Context(), batch) {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		rounds++
	}
	b.ReportMetric(float64(rounds*len(changes))/b.Elapsed().Seconds(), "events/s")
}
