package csv

import (
	"net/url"
	"strings"

	stdcsv "encoding/csv"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/spreadsheet"
)

// column is one column of the file: its header and how a contact fills it.
type column struct {
	name  string
	value func(contact.Contact) string
}

// columns lists the file's columns in order; the header and every row are
// derived from it, so they cannot drift apart.
var columns = []column{
	{"id", func(c contact.Contact) string { return c.ID }},
	{"email", func(c contact.Contact) string { return c.Email }},
	{"firstName", func(c contact.Contact) string { return c.FirstName }},
	{"lastName", func(c contact.Contact) string { return c.LastName }},
	{"fullName", func(c contact.Contact) string { return c.FullName }},
	{"jobTitle", func(c contact.Contact) string { return c.JobTitle }},
	{"companyName", func(c contact.Contact) string { return c.CompanyName }},
	{phoneColumn, phoneNumbers},
	{"facebookUrl", func(c contact.Contact) string { return c.FacebookURL }},
	{"instagramUrl", func(c contact.Contact) string { return c.InstagramURL }},
	{"linkedinUrl", func(c contact.Contact) string { return c.LinkedinURL }},
	{"twitterUrl", func(c contact.Contact) string { return c.TwitterURL }},
	{"note", func(c contact.Contact) string { return c.Note }},
	{"photo", func(c contact.Contact) string { return webURL(c.Photo) }},
	{"leadStatusId", func(c contact.Contact) string { return leadStatus(c).ID }},
	{"leadStatusLabel", func(c contact.Contact) string { return leadStatus(c).Label }},
	{"leadStatusType", func(c contact.Contact) string { return leadStatus(c).Type }},
	{"lastActivityAt", func(c contact.Contact) string { return c.LastActivityAt }},
	{"createdAt", func(c contact.Contact) string { return c.CreatedAt }},
}

const (
	phoneColumn    = "phoneNumbers"
	phoneSeparator = "; "
)

// header returns the names of the columns, in order.
func header() []string {
	names := make([]string, len(columns))
	for i, col := range columns {
		names[i] = col.name
	}
	return names
}

// encodeRow returns the key of the contact's row, and its record as the
// file holds it, newline included. The key is the id cell as parse reads it
// back, so that a staged row replaces the row loaded for the same contact.
func encodeRow(c contact.Contact, guard bool) (key, line string, err error) {
	cells := make([]string, len(columns))
	for i, col := range columns {
		cells[i] = col.value(c)
		if guard {
			cells[i] = guardCell(col.name, cells[i])
		}
	}
	var b strings.Builder
	w := stdcsv.NewWriter(&b) // UseCRLF stays false: CRLF would rewrite newlines inside cells
	if err := w.Write(cells); err != nil {
		return "", "", err
	}
	w.Flush()
	// encoding/csv reads a CRLF inside a quoted cell as LF. Keyed as
	// written, an id holding one would give a row that the contact's update
	// doubles and its deletion leaves behind, once the file is read again.
	return strings.ReplaceAll(cells[0], "\r\n", "\n"), b.String(), w.Error()
}

// guardCell is the cell as the guard writes it (spreadsheet.Guard), except
// for phone numbers such as "+49 30 123" or "-5", which stay as they are:
// made only of digits, spaces and +()-./ they cannot call a function or
// name a cell or a file; the worst a spreadsheet does with one is compute
// it, while an apostrophe would show in every other reader of the file.
func guardCell(column, cell string) string {
	if column == phoneColumn && isPhoneList(cell) {
		return cell
	}
	return spreadsheet.Guard(cell)
}

// isPhoneList reports whether the cell is phone numbers, joined by
// phoneSeparator, made only of digits, spaces and +()-./.
func isPhoneList(cell string) bool {
	for number := range strings.SplitSeq(cell, phoneSeparator) {
		if number == "" || strings.Trim(number, "0123456789 +()-./") != "" {
			return false
		}
	}
	return true
}

func phoneNumbers(c contact.Contact) string {
	numbers := make([]string, len(c.Phones))
	for i, p := range c.Phones {
		numbers[i] = p.Number
	}
	return strings.Join(numbers, phoneSeparator)
}

// webURL returns s if it is an http or https URL and "" otherwise, so that
// no spreadsheet or viewer follows a javascript: or data: link.
func webURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

func leadStatus(c contact.Contact) contact.LeadStatus {
	if c.LeadStatus == nil {
		return contact.LeadStatus{}
	}
	return *c.LeadStatus
}
