package importer

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-vcard"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
)

// cardMetadata are properties about the card rather than the person: they
// are left out without being reported.
var cardMetadata = map[string]bool{
	vcard.FieldVersion: true, vcard.FieldProductID: true, vcard.FieldUID: true,
	vcard.FieldRevision: true, vcard.FieldClientPIDMap: true, vcard.FieldKind: true,
	vcard.FieldSource: true, "NAME": true, "PROFILE": true, "CLASS": true, "SORT-STRING": true,
	card.FieldConnectID: true, "X-ABUID": true, "X-ABSHOWAS": true, "X-ABLABEL": true, "X-ABADR": true,
	"X-MS-OL-DEFAULT-POSTAL-ADDRESS": true,
}

// cardMapper turns one card into a draft.
type cardMapper struct {
	d      *draft
	labels map[string]string // Apple's X-ABLabel by group
	fn     string
	named  bool // N gave a first or last name
}

// cardDraft maps a card to a draft. The person's data Connect has a field
// for is kept; everything else (ADR, BDAY, PHOTO, a second email, a
// category that is no lead status, ...) is noted as not imported.
func cardDraft(name string, c rawCard) *draft {
	m := &cardMapper{d: &draft{at: Location{name, c.line}}, labels: map[string]string{}}
	for _, p := range c.problems {
		m.d.problem("%s", p)
	}
	for _, p := range c.props {
		if p.name == "X-ABLABEL" && p.group != "" {
			m.labels[p.group], _ = p.text() // a label that cannot be read is no label
		}
	}
	var emails []property
	for _, p := range c.props {
		switch p.name {
		case vcard.FieldVersion:
			if v := strings.TrimSpace(p.value); v != "2.1" && v != "3.0" && v != "4.0" {
				m.d.problem("VERSION %q is not 2.1, 3.0 or 4.0", v)
			}
		case vcard.FieldEmail:
			emails = append(emails, p)
		default:
			m.property(p)
		}
	}
	m.email(emails)
	if !m.named && m.fn != "" && !strings.EqualFold(m.fn, m.d.Email) {
		// A card without names (vCard 4.0 makes N optional, Outlook writes
		// N:;;;; for companies) is known by its FN. The vcard-dir sink's FN
		// falls back to the email, which is no name.
		m.d.fullName = m.fn
	}
	m.d.Note = strings.ReplaceAll(m.d.Note, "\r\n", "\n")
	return m.d
}

// property maps one property other than VERSION and EMAIL.
func (m *cardMapper) property(p property) {
	switch p.name {
	case vcard.FieldFormattedName:
		m.fn = m.text(p)
	case vcard.FieldName:
		m.name(p)
	case vcard.FieldTelephone:
		if n := strings.TrimPrefix(m.text(p), "tel:"); n != "" {
			m.d.Phones = append(m.d.Phones, contact.Phone{Number: n, Type: m.phoneType(p)})
		}
	case vcard.FieldOrganization:
		parts := m.components(p)
		m.once(&m.d.CompanyName, p.name, parts[0])
		if slices.ContainsFunc(parts[1:], func(s string) bool { return s != "" }) {
			m.d.drop("ORG (unit)")
		}
	case vcard.FieldTitle:
		m.once(&m.d.JobTitle, p.name, m.text(p))
	case vcard.FieldNote:
		if note := m.text(p); note != "" && m.d.Note != "" {
			m.d.Note += "\n\n" + note
		} else if note != "" {
			m.d.Note = note
		}
	case vcard.FieldURL, "X-SOCIALPROFILE":
		m.url(p)
	case vcard.FieldCategories:
		if list, err := p.list(); err != nil {
			m.d.problem("%v", err)
		} else {
			m.d.categories = append(m.d.categories, slices.DeleteFunc(list, func(s string) bool { return s == "" })...)
		}
	default:
		if !cardMetadata[p.name] {
			m.d.drop(p.name)
		}
	}
}

// text decodes a TEXT value; a value that cannot be decoded is a problem
// of the record, since it would be imported wrong.
func (m *cardMapper) text(p property) string {
	v, err := p.text()
	if err != nil {
		m.d.problem("%v", err)
	}
	return v
}

func (m *cardMapper) components(p property) []string {
	parts, err := p.components()
	if err != nil {
		m.d.problem("%v", err)
		return []string{""}
	}
	return parts
}

// once sets a field the card should hold once; a second value is reported.
func (m *cardMapper) once(field *string, name, v string) {
	switch {
	case v == "":
	case *field == "":
		*field = v
	case *field != v:
		m.d.drop(name + " (another)")
	}
}

// name reads N: family; given; additional; prefixes; suffixes.
func (m *cardMapper) name(p property) {
	parts := m.components(p)
	parts = append(parts, make([]string, 5)...)
	m.once(&m.d.LastName, "N", parts[0])
	m.once(&m.d.FirstName, "N", parts[1])
	m.named = m.named || parts[0] != "" || parts[1] != ""
	if parts[2] != "" || parts[3] != "" || parts[4] != "" {
		m.d.drop("N (middle name/prefix/suffix)")
	}
}

// email takes the preferred address (PREF=1 in 4.0, TYPE=pref before),
// else the first; Connect holds one.
func (m *cardMapper) email(emails []property) {
	best, rank := -1, 101
	for i, p := range emails {
		r := 100
		if pref, err := strconv.Atoi(p.params.Get(vcard.ParamPreferred)); err == nil {
			r = pref
		} else if p.params.HasType("pref") {
			r = 1
		}
		if r < rank {
			best, rank = i, r
		}
	}
	if best < 0 {
		return
	}
	m.d.Email = strings.TrimPrefix(m.text(emails[best]), "mailto:")
	if len(emails) > 1 {
		m.d.drop("EMAIL (another)")
	}
}

// phoneType is the API's label for a TEL: Apple's X-ABLabel for its group,
// else its most telling TYPE, named as the vcard-dir sink maps them back.
func (m *cardMapper) phoneType(p property) string {
	if label := m.labels[p.group]; label != "" {
		label = strings.TrimSuffix(strings.TrimPrefix(label, "_$!<"), ">!$_")
		return strings.ToLower(label)
	}
	types := p.params.Types()
	for _, ranked := range [][]string{{"fax", "pager", "cell", "mobile", "iphone"}, {"work", "home"}, {"main", "other"}} {
		for _, t := range ranked {
			if slices.Contains(types, t) {
				return phoneTypes[t]
			}
		}
	}
	for _, t := range types {
		switch t {
		case "voice", "pref", "msg", "text", "video", "internet":
		default:
			if typeToken(t) {
				return t
			}
		}
	}
	return ""
}

// phoneTypes maps vCard TEL types to the API's phone labels, the inverse
// of the vcard-dir sink's mapping.
var phoneTypes = map[string]string{
	"cell": "mobile", "mobile": "mobile", "iphone": "mobile",
	"work": "work", "home": "home", "fax": "fax", "pager": "pager",
	"main": "main", "other": "other",
}

func typeToken(t string) bool {
	return len(t) <= 32 && !strings.HasPrefix(t, "x-") && strings.Trim(t, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// socialHosts tells the social profiles from other URLs by their host,
// when the URL has no TYPE saying which it is.
var socialHosts = map[string]string{
	"facebook.com": "facebook", "fb.com": "facebook", "instagram.com": "instagram",
	"linkedin.com": "linkedin", "twitter.com": "twitter", "x.com": "twitter",
}

// socialKind is the social network a host belongs to, subdomains
// (www., m., de.) included; "" for others.
func socialKind(host string) string {
	host = strings.ToLower(host)
	for domain, kind := range socialHosts {
		if host == domain || strings.HasSuffix(host, "."+domain) {
			return kind
		}
	}
	return ""
}

// url maps a URL or Apple X-SOCIALPROFILE to a social profile field.
func (m *cardMapper) url(p property) {
	v := m.text(p)
	kind := ""
	for _, t := range p.params.Types() {
		if slices.Contains([]string{"facebook", "instagram", "linkedin", "twitter"}, t) {
			kind = t
		}
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		m.d.drop(p.name)
		return
	}
	if kind == "" {
		kind = socialKind(u.Hostname())
	}
	fields := map[string]*string{
		"facebook": &m.d.FacebookURL, "instagram": &m.d.InstagramURL,
		"linkedin": &m.d.LinkedinURL, "twitter": &m.d.TwitterURL,
	}
	if f, ok := fields[kind]; ok {
		m.once(f, fmt.Sprintf("URL %s", kind), v)
		return
	}
	m.d.drop(p.name)
}
