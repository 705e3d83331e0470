package card

import (
	"io"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

// BenchmarkEncode measures writing 1,000 generated contacts as vCards.
func BenchmarkEncode(b *testing.B) {
	var contacts []contact.Contact
	for _, raw := range fakeconnect.Generated(fakeconnect.Options{Contacts: 1_000, Seed: 1}) {
		c, err := contact.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		contacts = append(contacts, c)
	}
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
