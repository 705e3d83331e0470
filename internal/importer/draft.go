package importer

import (
	"fmt"
	"strings"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// Location is where a record starts: a file as it was named, and a line
// (1 for the first).
type Location struct {
	File string
	Line int
}

func (l Location) String() string { return fmt.Sprintf("%s:%d", l.File, l.Line) }

// draft is a record as a reader mapped it, before validation. Values are
// trimmed text; the lead status is still as the input gave it.
type draft struct {
	at Location
	Fields
	// fullName stands in for the first name when the input has neither a
	// first nor a last name (a CSV "fullName" column, a vCard FN).
	fullName string
	// leadStatus holds a label or an id, leadStatusID only an id,
	// leadStatusLabel only a label.
	leadStatus, leadStatusID, leadStatusLabel string
	// categories are a vCard's; one naming a lead status sets it.
	categories []string
	// notImported names what the record holds that Connect's create has no
	// field for, such as a vCard's ADR or a CSV column mapped to nothing.
	notImported []string
	// problems found while reading make the record be rejected.
	problems []string
}

func (d *draft) problem(format string, args ...any) {
	d.problems = append(d.problems, fmt.Sprintf(format, args...))
}

// drop notes something the record holds that will not be imported, once.
func (d *draft) drop(what string) {
	for _, w := range d.notImported {
		if w == what {
			return
		}
	}
	d.notImported = append(d.notImported, what)
}

// setField is how a reader fills a field named as in the csv sink's header
// (and --map): the API's names plus fullName and the lead status columns.
// phoneNumbers appends, so several columns can hold phones.
var setField = map[string]func(d *draft, v string){
	"email":           func(d *draft, v string) { d.Email = v },
	"firstName":       func(d *draft, v string) { d.FirstName = v },
	"lastName":        func(d *draft, v string) { d.LastName = v },
	"fullName":        func(d *draft, v string) { d.fullName = v },
	"jobTitle":        func(d *draft, v string) { d.JobTitle = v },
	"companyName":     func(d *draft, v string) { d.CompanyName = v },
	"phoneNumbers":    addPhones,
	"facebookUrl":     func(d *draft, v string) { d.FacebookURL = v },
	"instagramUrl":    func(d *draft, v string) { d.InstagramURL = v },
	"linkedinUrl":     func(d *draft, v string) { d.LinkedinURL = v },
	"twitterUrl":      func(d *draft, v string) { d.TwitterURL = v },
	"note":            func(d *draft, v string) { d.Note = v },
	"leadStatus":      func(d *draft, v string) { d.leadStatus = v },
	"leadStatusId":    func(d *draft, v string) { d.leadStatusID = v },
	"leadStatusLabel": func(d *draft, v string) { d.leadStatusLabel = v },
}

// phoneSeparators split a cell holding several numbers: the csv sink joins
// them with "; ", Google Contacts with " ::: ".
var phoneSeparators = strings.NewReplacer(":::", ";")

func addPhones(d *draft, cell string) {
	for number := range strings.SplitSeq(phoneSeparators.Replace(cell), ";") {
		if number = strings.TrimSpace(number); number != "" {
			d.Phones = append(d.Phones, contact.Phone{Number: number})
		}
	}
}
