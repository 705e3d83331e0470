package card

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/emersion/go-vcard"
)

// FieldConnectID carries the Connect contact id, for tools that want to
// match a card back to its contact without knowing how the UID is derived.
const FieldConnectID = "X-CONNECT-ID"

// properties lists the card's properties in the order they are written.
// Blank contact fields give no property; N is always present because
// vCard 3.0 requires it.
func properties(c contact.Contact, opts Options) []property {
	v3 := opts.Version == Version3
	props := []property{
		{name: vcard.FieldVersion, value: opts.Version},
		{name: vcard.FieldUID, value: UID(opts.SourceURL, c.ID)},
		text(vcard.FieldFormattedName, formattedName(c)),
		structured(vcard.FieldName, c.LastName, c.FirstName, "", "", ""),
	}
	if !blank(c.Email) {
		props = append(props, email(c.Email, v3))
	}
	for _, p := range c.Phones {
		if !blank(p.Number) {
			props = append(props, phone(p))
		}
	}
	if !blank(c.CompanyName) {
		props = append(props, structured(vcard.FieldOrganization, c.CompanyName))
	}
	props = appendText(props, vcard.FieldTitle, c.JobTitle)
	props = appendText(props, vcard.FieldNote, c.Note)
	if u, ok := webURL(c.Photo); ok {
		props = append(props, photo(u, v3))
	}
	props = append(props, socialURLs(c)...)
	if c.LeadStatus != nil && !blank(c.LeadStatus.Label) {
		props = append(props, list(vcard.FieldCategories, c.LeadStatus.Label))
	}
	if rev, ok := revision(c); ok {
		props = append(props, property{name: vcard.FieldRevision, value: rev})
	}
	return append(props, text(FieldConnectID, c.ID))
}

// formattedName is the first of the full name, first and last name, email
// and "Contact <id>" that is not blank, because FN is required and should
// let a person tell contacts apart.
func formattedName(c contact.Contact) string {
	candidates := []string{
		c.FullName,
		c.FirstName + " " + c.LastName,
		c.Email,
	}
	for _, s := range candidates {
		if !blank(s) {
			return strings.TrimSpace(clean(s))
		}
	}
	return "Contact " + c.ID
}

func email(addr string, v3 bool) property {
	p := text(vcard.FieldEmail, addr)
	if v3 {
		p.params = vcard.Params{vcard.ParamType: {"INTERNET"}}
	}
	return p
}

// phoneTypes maps the API's phone labels to vCard TEL types.
var phoneTypes = map[string]string{
	"mobile": "cell", "cell": "cell", "cellular": "cell",
	"work": "work", "office": "work", "business": "work",
	"home": "home", "private": "home", "personal": "home",
	"fax": "fax", "pager": "pager",
}

// typeToken is what an unknown phone label must look like to be kept as a
// TYPE: a token that needs no quoting in a parameter.
var typeToken = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

func phone(p contact.Phone) property {
	prop := text(vcard.FieldTelephone, p.Number)
	label := strings.ToLower(strings.TrimSpace(p.Type))
	if t, ok := phoneTypes[label]; ok {
		prop.params = vcard.Params{vcard.ParamType: {t}}
	} else if typeToken.MatchString(label) {
		prop.params = vcard.Params{vcard.ParamType: {label}}
	}
	return prop
}

func photo(uri string, v3 bool) property {
	p := property{name: vcard.FieldPhoto, value: uri}
	if v3 {
		p.params = vcard.Params{vcard.ParamValue: {"uri"}}
	}
	return p
}

func socialURLs(c contact.Contact) []property {
	social := []struct{ kind, value string }{
		{"facebook", c.FacebookURL},
		{"instagram", c.InstagramURL},
		{"linkedin", c.LinkedinURL},
		{"twitter", c.TwitterURL},
	}
	var props []property
	for _, s := range social {
		if u, ok := webURL(s.value); ok {
			props = append(props, property{
				name:   vcard.FieldURL,
				params: vcard.Params{vcard.ParamType: {s.kind}},
				value:  u,
			})
		}
	}
	return props
}

// webURL returns s as a URI if it is an absolute http or https URL. Other
// values are not written: clients would try to fetch or open them.
func webURL(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return escapeURI(u.String()), true
}

// escapeURI percent-encodes every byte of s that a URI (RFC 3986) may not
// hold. net/url leaves the query as it came, so a space, a backslash or
// invalid UTF-8 there would otherwise reach the card: a reader unescapes
// "\n" in any value, and a byte that is not UTF-8 makes the card invalid.
func escapeURI(s string) string {
	var b strings.Builder
	for i := range len(s) {
		if c := s[i]; isURIByte(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// isURIByte reports whether c is an unreserved or reserved URI character,
// or the % of an escape.
func isURIByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0
}

// revision is the card's REV, a vCard timestamp in UTC: lastActivityAt, or
// createdAt when that is missing or not an RFC 3339 time. If neither
// parses, the card has no REV. A time that UTC moves out of the years
// 0000-9999 (such as 0000-01-01T00:00:00+01:00) counts as not parsing: a
// timestamp has four digits for the year.
func revision(c contact.Contact) (string, bool) {
	for _, s := range []string{c.LastActivityAt, c.CreatedAt} {
		t, err := time.Parse(time.RFC3339, s)
		if y := t.UTC().Year(); err == nil && y >= 0 && y <= 9999 {
			return t.UTC().Format("20060102T150405Z"), true
		}
	}
	return "", false
}

func appendText(props []property, name, value string) []property {
	if blank(value) {
		return props
	}
	return append(props, text(name, value))
}

// blank reports whether s would be written as nothing but white space.
func blank(s string) bool { return strings.TrimSpace(clean(s)) == "" }
