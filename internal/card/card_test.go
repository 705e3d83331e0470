package card

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const sourceURL = "https://connect.example.com"

// full has every field the card maps, with text that needs escaping,
// folding and care with multi-byte characters.
var full = contact.Contact{
	ID:          "c_123-ABC",
	Email:       "zoë.müller@example.com",
	FirstName:   `Zoë; "Z", the 1st`,
	LastName:    "Müller-Łukasiewicz, Jr.; PhD",
	FullName:    "Zoë Müller-Łukasiewicz",
	JobTitle:    "Head of Sales, EMEA; 営業部長",
	CompanyName: `Acme; Widgets, Inc. \ 株式会社`,
	Phones: []contact.Phone{
		{Number: "+49 30 1234567", Type: "Mobile"},
		{Number: "+1 555 0100", Type: "work"},
		{Number: "030 999 888", Type: "home"},
		{Number: "0800 100 200", Type: "main"},
		{Number: "+33 1 23 45 67 89", Type: "weird; type"},
		{Number: "112"},
		{Number: " ", Type: "home"},
	},
	FacebookURL:  "https://facebook.com/zoe.mueller",
	InstagramURL: "https://instagram.com/zoe",
	LinkedinURL:  "https://www.linkedin.com/in/zoë-müller/",
	TwitterURL:   "http://twitter.com/zoe",
	Note: "Met at the fair, booth 12; wants a demo.\r\n" +
		`She said "call me" \ not before 9.` + "\r" +
		"Third line\n\n" +
		"Ünïcödé all the way: 日本語のメモはここに続きます、とても長い文章です。🙂🙂🙂 and a trailing tab\t",
	Photo:          "https://cdn.example.com/photos/zoe.jpg",
	LeadStatus:     &contact.LeadStatus{ID: "ls1", Label: "Hot, qualified"},
	LastActivityAt: "2024-01-02T16:04:05.123+01:00",
	CreatedAt:      "2023-05-06T07:08:09Z",
}

var goldens = []struct {
	name    string
	contact contact.Contact
}{
	{"full", full},
	{"email-only", contact.Contact{ID: "42", Email: "only@example.com"}},
	{"id-only", contact.Contact{ID: "7"}},
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		for _, version := range []string{Version3, Version4} {
			name := g.name + "-" + version + ".vcf"
			t.Run(name, func(t *testing.T) {
				got := encode(t, g.contact, version)
				path := filepath.Join("testdata", name)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("card differs from %s (go test -update rewrites it):\n%s", path, got)
				}
			})
		}
	}
}

func TestDeterministic(t *testing.T) {
	first := encode(t, full, Version3)
	for range 20 {
		if got := encode(t, full, Version3); !bytes.Equal(got, first) {
			t.Fatalf("second encoding differs:\n%s\n%s", first, got)
		}
	}
}

func TestDefaultVersion(t *testing.T) {
	if got, want := encode(t, full, ""), encode(t, full, Version3); !bytes.Equal(got, want) {
		t.Errorf("empty Version is not 3.0:\n%s", got)
	}
}

func TestUnsupportedVersion(t *testing.T) {
	var b bytes.Buffer
	err := Encode(&b, full, Options{Version: "2.1"})
	if err == nil || b.Len() != 0 {
		t.Fatalf("Encode with version 2.1: err %v, wrote %q", err, b.String())
	}
}

func TestUID(t *testing.T) {
	a := UID(sourceURL, "1")
	if !strings.HasPrefix(a, "urn:uuid:") || len(a) != len("urn:uuid:")+36 {
		t.Errorf("UID = %q, want a UUID URN", a)
	}
	if b := UID(sourceURL+"/", "1"); b != a {
		t.Errorf("trailing slash changes the UID: %q, %q", a, b)
	}
	for _, other := range []string{UID(sourceURL, "2"), UID("https://other.example.com", "1")} {
		if other == a {
			t.Errorf("different contacts share UID %q", a)
		}
	}
}

func TestFormattedName(t *testing.T) {
	tests := []struct {
		name string
		c    contact.Contact
		want string
	}{
		{"full name", contact.Contact{ID: "1", FullName: " Ann Lee ", FirstName: "A"}, "Ann Lee"},
		{"first and last", contact.Contact{ID: "1", FirstName: "Ann", LastName: "Lee"}, "Ann Lee"},
		{"first only", contact.Contact{ID: "1", FirstName: "Ann", FullName: " "}, "Ann"},
		{"last only", contact.Contact{ID: "1", LastName: "Lee"}, "Lee"},
		{"email", contact.Contact{ID: "1", Email: "a@example.com"}, "a@example.com"},
		{"control characters only", contact.Contact{ID: "1", FullName: "\x00\x01"}, "Contact 1"},
		{"id", contact.Contact{ID: "1"}, "Contact 1"},
	}
	for _, tt := range tests {
		if got := formattedName(tt.c); got != tt.want {
			t.Errorf("%s: formattedName = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPhoneType(t *testing.T) {
	tests := map[string]string{
		"":            "",
		"Mobile":      "TEL;TYPE=cell:1",
		"cellular":    "TEL;TYPE=cell:1",
		" Office ":    "TEL;TYPE=work:1",
		"HOME":        "TEL;TYPE=home:1",
		"fax":         "TEL;TYPE=fax:1",
		"main":        "TEL;TYPE=main:1",
		"x-assistant": "TEL;TYPE=x-assistant:1",
		"two words":   "TEL:1",
		"a;b:c":       "TEL:1",
	}
	for label, want := range tests {
		if want == "" {
			want = "TEL:1"
		}
		if got := phone(contact.Phone{Number: "1", Type: label}).line(); got != want {
			t.Errorf("phone type %q: %q, want %q", label, got, want)
		}
	}
}

func TestWebURL(t *testing.T) {
	tests := map[string]string{
		"https://example.com/a":         "https://example.com/a",
		" http://example.com/a ":        "http://example.com/a",
		"https://example.com/a b":       "https://example.com/a%20b",
		"example.com/a":                 "",
		"ftp://example.com/a":           "",
		"data:image/png;base64,x":       "",
		"javascript:alert(1)":           "",
		"https:///nohost":               "",
		"https://example.com/a\nb":      "",
		"https://example.com/?q=a\\n b": "https://example.com/?q=a%5Cn%20b",
		"https://example.com/?q=ü\xff":  "https://example.com/?q=%C3%BC%FF",
		"file:///etc/passwd":            "",
		"JavaScript:alert(1)":           "",
		"":                              "",
	}
	for in, want := range tests {
		got, ok := webURL(in)
		if got != want || ok != (want != "") {
			t.Errorf("webURL(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestRevision(t *testing.T) {
	tests := []struct {
		activity, created, want string
	}{
		{"2024-01-02T15:04:05Z", "2020-01-01T00:00:00Z", "20240102T150405Z"},
		{"2024-01-02T16:04:05.999+01:00", "", "20240102T150405Z"},
		{"", "2020-01-01T00:00:00Z", "20200101T000000Z"},
		{"yesterday", "2020-01-01T00:00:00Z", "20200101T000000Z"},
		{"1704207845", "", ""},
		{"0000-01-01T00:00:00+01:00", "2020-01-01T00:00:00Z", "20200101T000000Z"},
		{"9999-12-31T23:59:59-01:00", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		got, ok := revision(contact.Contact{LastActivityAt: tt.activity, CreatedAt: tt.created})
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("revision(%q, %q) = %q, %v; want %q", tt.activity, tt.created, got, ok, tt.want)
		}
	}
}

func TestClean(t *testing.T) {
	tests := map[string]string{
		"a\r\nb\rc\nd":    "a\nb\nc\nd",
		"tab\tstays":      "tab\tstays",
		"nul\x00bel\a":    "nulbel",
		"c1\u0085del\x7f": "c1del",
		"bad\xffutf8":     "bad\uFFFDutf8",
		"ünï 日本 🙂":        "ünï 日本 🙂",
	}
	for in, want := range tests {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func encode(t testing.TB, c contact.Contact, version string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, c, Options{Version: version, SourceURL: sourceURL}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
