// Package contact holds the Connect contact as connect-sync understands it
// and the changes it detects and delivers. It depends on nothing else in the
// project, so every other package can share these types.
package contact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Contact is one Connect contact. The typed fields are a lenient reading of
// the documented ones; Raw keeps the object exactly as the API sent it
// (unknown fields included), with leadStatus enriched when the lead status is
// known, so sinks that forward the whole object lose nothing.
type Contact struct {
	ID             string
	Email          string
	FirstName      string
	LastName       string
	FullName       string
	JobTitle       string
	CompanyName    string
	Phones         []Phone
	FacebookURL    string
	InstagramURL   string
	LinkedinURL    string
	TwitterURL     string
	Note           string
	Photo          string
	LeadStatus     *LeadStatus
	LastActivityAt string // verbatim, as the API sent it; empty when missing
	CreatedAt      string // verbatim

	Raw json.RawMessage
}

// Phone is one phone number; Type is the API's label for it, if any.
type Phone struct {
	Number string
	Type   string
}

// LeadStatus is a contact's lead status. Type and Order come from the
// workspace's lead-status list, not from the contact itself.
type LeadStatus struct {
	ID    string `json:"id"`
	Type  string `json:"type,omitempty"`
	Label string `json:"label"`
	Color string `json:"color,omitempty"`
	Order int    `json:"order,omitempty"`
}

// Parse reads one contact object. It is lenient about what the API
// documentation leaves open: null or missing fields, numbers where strings
// are expected, ids as numbers or strings, and phoneNumbers as a string, an
// array of strings or an array of objects. It fails only when raw is not a
// JSON object or has no usable id.
func Parse(raw []byte) (Contact, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Contact{}, fmt.Errorf("contact: %w", err)
	}
	if fields == nil {
		return Contact{}, fmt.Errorf("contact: null instead of an object")
	}
	return FromFields(fields, raw)
}

// FromFields is Parse for an object already split into its fields; raw is
// the object they came from (or were encoded to), kept as Raw.
func FromFields(fields map[string]json.RawMessage, raw []byte) (Contact, error) {
	c := Contact{
		ID:             Text(fields["id"]),
		Email:          Text(fields["email"]),
		FirstName:      Text(fields["firstName"]),
		LastName:       Text(fields["lastName"]),
		FullName:       Text(fields["fullName"]),
		JobTitle:       Text(fields["jobTitle"]),
		CompanyName:    Text(fields["companyName"]),
		Phones:         parsePhones(fields["phoneNumbers"]),
		FacebookURL:    Text(fields["facebookUrl"]),
		InstagramURL:   Text(fields["instagramUrl"]),
		LinkedinURL:    Text(fields["linkedinUrl"]),
		TwitterURL:     Text(fields["twitterUrl"]),
		Note:           Text(fields["note"]),
		Photo:          Text(fields["photo"]),
		LeadStatus:     parseLeadStatus(fields["leadStatus"]),
		LastActivityAt: Text(fields["lastActivityAt"]),
		CreatedAt:      Text(fields["createdAt"]),
		Raw:            raw,
	}
	if c.ID == "" {
		return Contact{}, fmt.Errorf("contact: missing id")
	}
	return c, nil
}

// Text reads a JSON scalar as text: strings unquoted, numbers and booleans
// as written, null or absent as "". Objects and arrays come back as compact
// JSON, so a field whose shape changes is still visible rather than lost.
func Text(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		if s, ok := plainString(raw); ok {
			return s
		}
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// plainString reads a JSON string that has no escapes, no control
// characters and only valid UTF-8, the common case, without a decoder:
// its text is the bytes between its quotes.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, b := range inner {
		if b < 0x20 || b == '"' || b == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

func parsePhones(raw json.RawMessage) []Phone {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		if n := Text(raw); n != "" {
			return []Phone{{Number: n}}
		}
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil
	}
	var phones []Phone
	for _, item := range items {
		p := parsePhone(item)
		if p.Number != "" {
			phones = append(phones, p)
		}
	}
	return phones
}

func parsePhone(raw json.RawMessage) Phone {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return Phone{Number: Text(raw)}
	}
	return Phone{
		Number: firstText(obj, "number", "phone", "value"),
		Type:   firstText(obj, "type", "label"),
	}
}

func firstText(obj map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		if s := Text(obj[k]); s != "" {
			return s
		}
	}
	return ""
}

func parseLeadStatus(raw json.RawMessage) *LeadStatus {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil
	}
	ls := &LeadStatus{
		ID:    Text(obj["id"]),
		Type:  Text(obj["type"]),
		Label: Text(obj["label"]),
		Color: Text(obj["color"]),
	}
	ls.Order, _ = strconv.Atoi(Text(obj["order"]))
	return ls
}
