package card

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/emersion/go-vcard"
)

func TestRoundTrip(t *testing.T) {
	for _, version := range []string{Version3, Version4} {
		t.Run(version, func(t *testing.T) {
			data := encode(t, full, version)
			checkLines(t, data)
			card := decode(t, data)
			want := map[string][]string{
				vcard.FieldVersion:       {version},
				vcard.FieldUID:           {UID(sourceURL, full.ID)},
				vcard.FieldFormattedName: {full.FullName},
				vcard.FieldEmail:         {full.Email},
				vcard.FieldTelephone:     {"+49 30 1234567", "+1 555 0100", "030 999 888", "0800 100 200", "+33 1 23 45 67 89", "112"},
				vcard.FieldTitle:         {full.JobTitle},
				vcard.FieldNote:          {"Met at the fair, booth 12; wants a demo.\n" + `She said "call me" \ not before 9.` + "\nThird line\n\n" + full.Note[strings.Index(full.Note, "Ünï"):]},
				vcard.FieldPhoto:         {full.Photo},
				vcard.FieldURL: {full.FacebookURL, full.InstagramURL,
					"https://www.linkedin.com/in/zo%C3%AB-m%C3%BCller/", full.TwitterURL},
				vcard.FieldCategories: {full.LeadStatus.Label},
				vcard.FieldRevision:   {"20240102T150405Z"},
				FieldConnectID:        {full.ID},
			}
			for name, values := range want {
				if got := textValues(card, name); !slices.Equal(got, values) {
					t.Errorf("%s = %q, want %q", name, got, values)
				}
			}
			checkTypes(t, card, vcard.FieldTelephone, "cell", "work", "home", "main", "", "")
			checkTypes(t, card, vcard.FieldURL, "facebook", "instagram", "linkedin", "twitter")
			checkStructured(t, data, vcard.FieldName, ';', full.LastName, full.FirstName, "", "", "")
			checkStructured(t, data, vcard.FieldOrganization, ';', full.CompanyName)
			checkStructured(t, data, vcard.FieldCategories, ',', full.LeadStatus.Label)
			checkVersionParams(t, card, version)
		})
	}
}

func checkVersionParams(t *testing.T, card vcard.Card, version string) {
	t.Helper()
	emailType, photoValue := "", ""
	if version == Version3 {
		emailType, photoValue = "INTERNET", "uri"
	}
	if got := card.Get(vcard.FieldEmail).Params.Get(vcard.ParamType); got != emailType {
		t.Errorf("EMAIL TYPE = %q, want %q", got, emailType)
	}
	if got := card.Get(vcard.FieldPhoto).Params.Get(vcard.ParamValue); got != photoValue {
		t.Errorf("PHOTO VALUE = %q, want %q", got, photoValue)
	}
}

func TestOmitted(t *testing.T) {
	c := contact.Contact{ID: "1", Email: " ", Photo: "data:image/png;base64,AAAA",
		LinkedinURL: "linkedin.com/in/x", LeadStatus: &contact.LeadStatus{ID: "s"},
		LastActivityAt: "soon", Phones: nil}
	card := decode(t, encode(t, c, Version4))
	for _, name := range []string{vcard.FieldEmail, vcard.FieldPhoto, vcard.FieldURL,
		vcard.FieldCategories, vcard.FieldRevision, vcard.FieldTelephone,
		vcard.FieldOrganization, vcard.FieldTitle, vcard.FieldNote} {
		if f := card.Get(name); f != nil {
			t.Errorf("%s written for an empty or unusable value: %q", name, f.Value)
		}
	}
}

func TestFolding(t *testing.T) {
	for shift := range 5 {
		note := strings.Repeat("x", shift) + strings.Repeat("€", 60) +
			strings.Repeat("🙂", 40) + strings.Repeat("ä", 50) + strings.Repeat("a", 200)
		data := encode(t, contact.Contact{ID: "1", Note: note}, Version4)
		checkLines(t, data)
		if got := textValues(decode(t, data), vcard.FieldNote); !slices.Equal(got, []string{note}) {
			t.Errorf("shift %d: NOTE = %q, want %q", shift, got, note)
		}
		if !strings.Contains(unfold(data), "\r\nNOTE:"+note+"\r\n") {
			t.Errorf("shift %d: unfolding does not give the NOTE line back:\n%s", shift, data)
		}
	}
}

// checkLines checks the physical lines: CRLF ends only, at most 75 octets,
// and every line valid UTF-8 by itself, so no fold split a character.
func checkLines(t *testing.T, data []byte) {
	t.Helper()
	text, ok := strings.CutSuffix(string(data), "\r\n")
	if !ok {
		t.Fatalf("card does not end with CRLF: %q", data)
	}
	for i, line := range strings.Split(text, "\r\n") {
		switch {
		case len(line) > maxLine:
			t.Errorf("line %d has %d octets: %q", i+1, len(line), line)
		case strings.ContainsAny(line, "\r\n"):
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		case !utf8.ValidString(line):
			t.Errorf("line %d is not valid UTF-8 on its own: %q", i+1, line)
		}
	}
}

func decode(t *testing.T, data []byte) vcard.Card {
	t.Helper()
	dec := vcard.NewDecoder(bytes.NewReader(data))
	card, err := dec.Decode()
	if err != nil {
		t.Fatalf("go-vcard cannot decode the card: %v\n%s", err, data)
	}
	if _, err := dec.Decode(); err != io.EOF {
		t.Fatalf("more than one card: %v", err)
	}
	return card
}

// textValues reads a property's values back as text.
func textValues(card vcard.Card, name string) []string {
	var values []string
	for _, f := range card[name] {
		values = append(values, unescapeText(f.Value))
	}
	return values
}

// unescapeText finishes what go-vcard leaves undone: it unescapes \\, \n
// and \, but not \;. Because every semicolon the encoder wrote is preceded
// by the backslash it added, replacing each \; undoes exactly that.
func unescapeText(v string) string { return strings.ReplaceAll(v, `\;`, ";") }

func checkTypes(t *testing.T, card vcard.Card, name string, want ...string) {
	t.Helper()
	var got []string
	for _, f := range card[name] {
		got = append(got, f.Params.Get(vcard.ParamType))
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s types = %q, want %q", name, got, want)
	}
}

// checkStructured checks a structured or list value by reading the raw
// line: go-vcard has already turned \\ into \, so after it a component that
// ends in a backslash cannot be told from an escaped separator.
func checkStructured(t *testing.T, data []byte, name string, sep byte, want ...string) {
	t.Helper()
	for _, line := range strings.Split(unfold(data), "\r\n") {
		if value, ok := strings.CutPrefix(line, name+":"); ok {
			if got := splitEscaped(value, sep); !slices.Equal(got, want) {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
			return
		}
	}
	t.Errorf("no %s line in\n%s", name, data)
}

// splitEscaped splits a raw value on unescaped sep and unescapes each part.
func splitEscaped(value string, sep byte) []string {
	var parts []string
	var part strings.Builder
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c == '\\' && i+1 < len(value):
			i++
			if value[i] == 'n' || value[i] == 'N' {
				part.WriteByte('\n')
			} else {
				part.WriteByte(value[i])
			}
		case c == sep:
			parts = append(parts, part.String())
			part.Reset()
		default:
			part.WriteByte(c)
		}
	}
	return append(parts, part.String())
}

func unfold(data []byte) string { return strings.ReplaceAll(string(data), "\r\n ", "") }
