package card

import (
	"bytes"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/emersion/go-vcard"
)

// FuzzEncode maps arbitrary contact fields to a card and checks that
// go-vcard reads it back as one card holding every mapped field as the
// contact had it (cleaned of what no content line may hold), in lines of at
// most 75 octets, that PHOTO and URL only ever hold http or https URIs, and
// that Identify reads the card's UID and X-CONNECT-ID back.
// The seeds in testdata/fuzz/FuzzEncode carry the hostile cases: traversal
// names, NUL and other controls, bidi marks, emoji, escapes, and
// javascript:, file: and odd http URLs.
func FuzzEncode(f *testing.F) {
	f.Fuzz(func(t *testing.T, id, fullName, first, last, email, phone, phoneType, org, title, note, photo, social, label, rev string, v4 bool) {
		c := contact.Contact{
			ID: id, FullName: fullName, FirstName: first, LastName: last, Email: email,
			Phones:      []contact.Phone{{Number: phone, Type: phoneType}},
			CompanyName: org, JobTitle: title, Note: note, Photo: photo, LinkedinURL: social,
			LeadStatus: &contact.LeadStatus{Label: label}, LastActivityAt: rev,
		}
		version := Version3
		if v4 {
			version = Version4
		}
		data := encode(t, c, version)
		checkLines(t, data)
		card := decode(t, data)

		for name, want := range map[string][]string{
			vcard.FieldVersion:   {version},
			vcard.FieldUID:       {UID(sourceURL, id)},
			FieldConnectID:       {clean(id)},
			vcard.FieldEmail:     present(email),
			vcard.FieldTelephone: present(phone),
			vcard.FieldTitle:     present(title),
			vcard.FieldNote:      present(note),
		} {
			if got := textValues(card, name); !slices.Equal(got, want) {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		want := Identity{UID: UID(sourceURL, id), ConnectID: clean(id)}
		if got, err := Identify(bytes.NewReader(data)); err != nil || got != want {
			t.Errorf("Identify = %+v, %v; want %+v", got, err, want)
		}
		checkFN(t, card, c)
		checkStructured(t, data, vcard.FieldName, ';', clean(last), clean(first), "", "", "")
		if !blank(org) {
			checkStructured(t, data, vcard.FieldOrganization, ';', clean(org))
		}
		if !blank(label) {
			checkStructured(t, data, vcard.FieldCategories, ',', clean(label))
		}
		checkURI(t, card, vcard.FieldPhoto, photo)
		checkURI(t, card, vcard.FieldURL, social)
		checkRevision(t, card, rev)
		for name := range card {
			if !slices.Contains(mapped, name) {
				t.Errorf("unexpected property %s: %q", name, card[name][0].Value)
			}
		}
		if tel := card.Get(vcard.FieldTelephone); tel != nil {
			if typ := tel.Params.Get(vcard.ParamType); typ != "" && !typeToken.MatchString(typ) {
				t.Errorf("TEL TYPE = %q, not a plain token", typ)
			}
		}
	})
}

// mapped is every property the mapping writes: anything else in a card was
// smuggled in through a value.
var mapped = []string{
	vcard.FieldVersion, vcard.FieldUID, vcard.FieldFormattedName, vcard.FieldName,
	vcard.FieldEmail, vcard.FieldTelephone, vcard.FieldOrganization, vcard.FieldTitle,
	vcard.FieldNote, vcard.FieldPhoto, vcard.FieldURL, vcard.FieldCategories,
	vcard.FieldRevision, FieldConnectID,
}

// present is the values a text property must read back as: the cleaned
// value, or none when it is blank.
func present(value string) []string {
	if blank(value) {
		return nil
	}
	return []string{clean(value)}
}

// checkFN checks that the card has one FN, never blank, and that it is the
// full name whenever there is one.
func checkFN(t *testing.T, card vcard.Card, c contact.Contact) {
	t.Helper()
	fn := textValues(card, vcard.FieldFormattedName)
	switch {
	case len(fn) != 1 || strings.TrimSpace(fn[0]) == "":
		t.Errorf("FN = %q, want one that is not blank", fn)
	case !blank(c.FullName) && fn[0] != strings.TrimSpace(clean(c.FullName)):
		t.Errorf("FN = %q, want the full name %q", fn[0], c.FullName)
	}
}

// checkURI checks a property that holds a URI: present exactly when the
// input is an http or https URL with a host, then naming the same scheme,
// host and path, and made of URI characters only, which no vCard reader
// unescapes or splits.
func checkURI(t *testing.T, card vcard.Card, name, input string) {
	t.Helper()
	fields := card[name]
	in, err := url.Parse(strings.TrimSpace(input))
	if err != nil || (in.Scheme != "http" && in.Scheme != "https") || in.Host == "" {
		if len(fields) != 0 {
			t.Errorf("%s = %q written for %q", name, fields[0].Value, input)
		}
		return
	}
	if len(fields) != 1 {
		t.Fatalf("%d %s properties for %q, want 1", len(fields), name, input)
	}
	value := fields[0].Value
	if i := strings.IndexFunc(value, func(r rune) bool { return !isURIChar(r) }); i >= 0 {
		t.Errorf("%s = %q has %q, not a URI character", name, value, value[i:])
	}
	out, err := url.Parse(value)
	if err != nil {
		t.Fatalf("%s = %q is not a URL: %v", name, value, err)
	}
	if out.Scheme != in.Scheme || out.Host != in.Host || out.Path != in.Path {
		t.Errorf("%s = %q, want the URL %q", name, value, input)
	}
}

// isURIChar reports whether r may appear in a URI (RFC 3986), escapes
// included.
func isURIChar(r rune) bool {
	return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("-._~:/?#[]@!$&'()*+,;=%", r))
}

// checkRevision checks that REV is lastActivityAt in UTC when that is an
// RFC 3339 time, and absent otherwise, also for a time that UTC moves out
// of the four-digit years a vCard timestamp can hold.
func checkRevision(t *testing.T, card vcard.Card, rev string) {
	t.Helper()
	var want []string
	if ts, err := time.Parse(time.RFC3339, rev); err == nil && ts.UTC().Year() >= 0 && ts.UTC().Year() <= 9999 {
		want = []string{ts.UTC().Format("20060102T150405Z")}
	}
	if got := textValues(card, vcard.FieldRevision); !slices.Equal(got, want) {
		t.Errorf("REV = %q for %q, want %q", got, rev, want)
	}
}
