package csv

import (
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

// BenchmarkEncodeRow measures writing 1,000 generated contacts as CSV rows.
func BenchmarkEncodeRow(b *testing.B) {
	var contacts []contact.Contact
	for _, raw := range fakeconnect.Generated(fakeconnect.Options{Contacts: 1_000, Seed: 1}) {
		c, err := contact.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		contacts = append(contacts, c)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range contacts {
			if _, _, err := encodeRow(c, true); err != nil {
				b.Fatal(err)
			}
		}
	}
}
