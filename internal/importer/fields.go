package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// Fields are what POST /api/connect/contacts receives for one record, named
// after the API's fields. Empty values are not sent.
type Fields struct {
	Email        string
	FirstName    string
	LastName     string
	JobTitle     string
	CompanyName  string
	Phones       []contact.Phone
	FacebookURL  string
	InstagramURL string
	LinkedinURL  string
	TwitterURL   string
	Note         string
	LeadStatus   string // a lead status id of the workspace; "" for none
}

// Body is the JSON object the create request carries.
//
// phoneNumbers goes as an array of {"number", "type"} objects, the richest
// of the shapes the API is seen to return, so a vCard's phone types are
// kept. leadStatus goes as a number when the id is one, as the API's
// examples have it.
func (f Fields) Body() map[string]any {
	body := map[string]any{}
	for _, kv := range [][2]string{
		{"email", f.Email}, {"firstName", f.FirstName}, {"lastName", f.LastName},
		{"jobTitle", f.JobTitle}, {"companyName", f.CompanyName},
		{"facebookUrl", f.FacebookURL}, {"instagramUrl", f.InstagramURL},
		{"linkedinUrl", f.LinkedinURL}, {"twitterUrl", f.TwitterURL}, {"note", f.Note},
	} {
		if kv[1] != "" {
			body[kv[0]] = kv[1]
		}
	}
	if len(f.Phones) > 0 {
		phones := make([]map[string]string, len(f.Phones))
		for i, p := range f.Phones {
			phones[i] = map[string]string{"number": p.Number}
			if p.Type != "" {
				phones[i]["type"] = p.Type
			}
		}
		body["phoneNumbers"] = phones
	}
	if f.LeadStatus != "" {
		if _, err := strconv.ParseInt(f.LeadStatus, 10, 64); err == nil {
			body["leadStatus"] = json.Number(f.LeadStatus)
		} else {
			body["leadStatus"] = f.LeadStatus
		}
	}
	return body
}

// Name is the first and last name, for people reading reports.
func (f Fields) Name() string {
	return strings.TrimSpace(f.FirstName + " " + f.LastName)
}

// contactFields are the fields of a contact as the API returns it, so that
// its fingerprint can be compared with a record's.
func contactFields(c contact.Contact) Fields {
	f := Fields{
		Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
		JobTitle: c.JobTitle, CompanyName: c.CompanyName, Phones: c.Phones,
		FacebookURL: c.FacebookURL, InstagramURL: c.InstagramURL,
		LinkedinURL: c.LinkedinURL, TwitterURL: c.TwitterURL, Note: c.Note,
	}
	if c.LeadStatus != nil {
		f.LeadStatus = c.LeadStatus.ID
	}
	return f
}

// Fingerprint identifies the record's content: two records with the same
// fingerprint would create the same contact, and a contact the API created
// from a record has the record's fingerprint. It covers every field sent,
// after the normalisations an API may apply to what it stores (case of the
// email, white space around values, line ends, the formatting and order of
// phone numbers, which leaves out their types).
func (f Fields) Fingerprint() string {
	phones := make([]string, 0, len(f.Phones))
	for _, p := range f.Phones {
		if n := phoneDigits(p.Number); n != "" {
			phones = append(phones, n)
		}
	}
	slices.Sort(phones)
	norm := []string{
		strings.ToLower(strings.TrimSpace(f.Email)),
		f.FirstName, f.LastName, f.JobTitle, f.CompanyName,
		f.FacebookURL, f.InstagramURL, f.LinkedinURL, f.TwitterURL,
		strings.ReplaceAll(f.Note, "\r\n", "\n"),
		f.LeadStatus,
	}
	for i, s := range norm {
		norm[i] = strings.TrimSpace(s)
	}
	b, _ := json.Marshal([][]string{norm, phones}) // strings always encode
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// phoneDigits is a phone number reduced to its digits and a leading plus.
func phoneDigits(number string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(number) {
		if (r >= '0' && r <= '9') || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
