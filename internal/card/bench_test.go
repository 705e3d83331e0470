package card

import (
	"io"
	"testing"

	"github.com/connect-sync/connect-sync/internal/event/eventtest"
)

// BenchmarkEncode measures writing 1,000 generated contacts as vCards.
func BenchmarkEncode(b *testing.B) {
	contacts := eventtest.Generated(b, 1_000)
	for _, version := range []string{Version3, Version4} {
		b.Run(version, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, c := range contacts {
					if err := Encode(io.Discard, c, Options{Version: version, SourceURL: "https://api.skarbe.com"}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
