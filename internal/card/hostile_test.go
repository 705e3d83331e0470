package card

import (
	"slices"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/emersion/go-vcard"
)

// TestHostileContacts encodes contacts made to break a card, or the client
// that reads it, and checks that each card still parses with go-vcard as
// one card, in lines of at most 75 octets, holding what it should. A photo
// or social URL that is not http or https is left out, whatever its case or
// the space around it: a client would fetch or run it.
func TestHostileContacts(t *testing.T) {
	mib := strings.Repeat("Ünïcödé 🙂 line;, \\ ", 1<<20/32) + "\n" // about 1 MiB
	tests := []struct {
		name string
		c    contact.Contact
		want map[string][]string // text values of these properties; nil: absent
	}{
		{"path traversal", contact.Contact{ID: "../../etc/passwd", FullName: "../../etc/passwd", FirstName: "/", LastName: `..\..\x`},
			map[string][]string{vcard.FieldFormattedName: {"../../etc/passwd"}, FieldConnectID: {"../../etc/passwd"}}},
		{"NUL and control characters", contact.Contact{ID: "1\x00", FullName: "Ann\x00 Lee\x1b[31m", Email: "a\x00@example.com",
			Note: "a\x00b\x07c\x1b[2Jd\x7f\u0085e\r\nf\x0bg\x0ch"},
			map[string][]string{vcard.FieldFormattedName: {"Ann Lee[31m"}, vcard.FieldEmail: {"a@example.com"},
				vcard.FieldNote: {"abc[2Jde\nfgh"}, FieldConnectID: {"1"}}},
		{"only control characters", contact.Contact{ID: "2", FullName: "\x00\x1b", FirstName: "\x7f", Email: "\u0085"},
			map[string][]string{vcard.FieldFormattedName: {"Contact 2"}, vcard.FieldEmail: nil}},
		{"property injection", contact.Contact{ID: "3", FullName: "Ann\r\nEMAIL:evil@example.com",
			Note: "x\r\nPHOTO;VALUE=uri:javascript:alert(1)\r\nEND:VCARD\r\nBEGIN:VCARD\nUID:evil"},
			map[string][]string{vcard.FieldFormattedName: {"Ann\nEMAIL:evil@example.com"}, vcard.FieldEmail: nil, vcard.FieldPhoto: nil,
				vcard.FieldNote: {"x\nPHOTO;VALUE=uri:javascript:alert(1)\nEND:VCARD\nBEGIN:VCARD\nUID:evil"}, vcard.FieldUID: {UID(sourceURL, "3")}}},
		{"right-to-left marks", contact.Contact{ID: "4", FullName: "\u202egpj.exe", Note: "\u200fשלום\u200e \u2066x\u2069"},
			map[string][]string{vcard.FieldFormattedName: {"\u202egpj.exe"}, vcard.FieldNote: {"\u200fשלום\u200e \u2066x\u2069"}}},
		{"emoji", contact.Contact{ID: "5", FullName: "👩‍👩‍👧‍👦 🇩🇪 🏳️‍🌈", Note: strings.Repeat("🧑🏽‍💻", 60)},
			map[string][]string{vcard.FieldFormattedName: {"👩‍👩‍👧‍👦 🇩🇪 🏳️‍🌈"}, vcard.FieldNote: {strings.Repeat("🧑🏽‍💻", 60)}}},
		{"1 MiB note", contact.Contact{ID: "6", Note: mib}, map[string][]string{vcard.FieldNote: {mib}}},
		{"invalid UTF-8", contact.Contact{ID: "7", FullName: "Ann \xff\xfe", Note: "\xc3"},
			map[string][]string{vcard.FieldFormattedName: {"Ann \ufffd"}, vcard.FieldNote: {"\ufffd"}}},
		{"javascript: photo and URL", contact.Contact{ID: "8", Photo: "javascript:alert(1)", LinkedinURL: "javascript:alert(document.cookie)"},
			map[string][]string{vcard.FieldPhoto: nil, vcard.FieldURL: nil}},
		{"javascript: in disguise", contact.Contact{ID: "9", Photo: " JaVaScRiPt:alert(1)", TwitterURL: "\tjavascript://example.com/%0aalert(1)"},
			map[string][]string{vcard.FieldPhoto: nil, vcard.FieldURL: nil}},
		{"file: photo", contact.Contact{ID: "10", Photo: "file:///etc/passwd", FacebookURL: "FILE://server/share/x.png"},
			map[string][]string{vcard.FieldPhoto: nil, vcard.FieldURL: nil}},
		{"data: and vbscript:", contact.Contact{ID: "11", Photo: "data:image/svg+xml,<svg onload=alert(1)>", InstagramURL: "vbscript:msgbox(1)"},
			map[string][]string{vcard.FieldPhoto: nil, vcard.FieldURL: nil}},
		{"no host or no scheme", contact.Contact{ID: "12", Photo: "https:/etc/passwd", LinkedinURL: "//evil.example.com/x"},
			map[string][]string{vcard.FieldPhoto: nil, vcard.FieldURL: nil}},
		{"http and https stay", contact.Contact{ID: "13", Photo: "http://cdn.example.com/a.png", LinkedinURL: "HTTPS://www.linkedin.com/in/ann"},
			map[string][]string{vcard.FieldPhoto: {"http://cdn.example.com/a.png"}, vcard.FieldURL: {"https://www.linkedin.com/in/ann"}}},
		{"https with a query to escape", contact.Contact{ID: "14", Photo: "https://cdn.example.com/a.png?q=\\n x,ü"},
			map[string][]string{vcard.FieldPhoto: {"https://cdn.example.com/a.png?q=%5Cn%20x,%C3%BC"}}},
	}
	for _, tt := range tests {
		for _, version := range []string{Version3, Version4} {
			t.Run(tt.name+"/"+version, func(t *testing.T) {
				data := encode(t, tt.c, version)
				checkLines(t, data)
				if len(data) > 64<<10 {
					// go-vcard joins folded lines by concatenation, in time
					// quadratic in the value's length: seconds for 1 MiB.
					// checkLines has checked the folding; parse the unfolded
					// card, which RFC 6350 says is the same card.
					data = []byte(unfold(data))
				}
				card := decode(t, data)
				for name, want := range tt.want {
					if got := textValues(card, name); !slices.Equal(got, want) {
						t.Errorf("%s = %.200q, want %.200q", name, got, want)
					}
				}
			})
		}
	}
}
