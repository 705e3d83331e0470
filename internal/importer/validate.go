package importer

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// emailPattern is the API's check of an email, as loose as web APIs make
// it: no white space, one @, a dot after it.
var emailPattern = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)

// validEmail reports whether the API accepts s as an email.
func validEmail(s string) bool { return emailPattern.MatchString(s) }

// leadStatuses are the workspace's lead statuses, which records name by id
// or by label.
type leadStatuses []contact.LeadStatus

func (ls leadStatuses) byID(id string) bool {
	for _, s := range ls {
		if s.ID == id {
			return true
		}
	}
	return false
}

// byLabel returns the statuses with the label, compared without regard to
// case or surrounding space.
func (ls leadStatuses) byLabel(label string) []contact.LeadStatus {
	var found []contact.LeadStatus
	for _, s := range ls {
		if strings.EqualFold(strings.TrimSpace(s.Label), strings.TrimSpace(label)) {
			found = append(found, s)
		}
	}
	return found
}

// known lists the statuses for error messages.
func (ls leadStatuses) known() string {
	names := make([]string, len(ls))
	for i, s := range ls {
		names[i] = fmt.Sprintf("%q (%s)", s.Label, s.ID)
	}
	return "known: " + strings.Join(names, ", ")
}

// resolve returns the id of the status that value names: an id, else a
// label.
func (ls leadStatuses) resolve(value string) (string, error) {
	if ls.byID(value) {
		return value, nil
	}
	return ls.resolveLabel(value, "")
}

// resolveLabel returns the id of the status with the label; hint, an id,
// chooses between statuses that share it.
func (ls leadStatuses) resolveLabel(label, hint string) (string, error) {
	found := ls.byLabel(label)
	switch {
	case len(found) == 1:
		return found[0].ID, nil
	case len(found) == 0:
		return "", fmt.Errorf("%q is not a lead status of the workspace (%s)", label, ls.known())
	}
	for _, s := range found {
		if s.ID == hint {
			return hint, nil
		}
	}
	return "", fmt.Errorf("%q names %d lead statuses; give the id (%s)", label, len(found), ls.known())
}

// validator checks drafts by the rules the API applies to a create.
type validator struct {
	statuses      leadStatuses
	defaultStatus string // an id, from --lead-status; "" for none
}

// check returns the fields to send for d, or why d cannot be sent. It
// records in d what the record holds that will not be imported.
func (v *validator) check(d *draft) (Fields, []string) {
	f := d.Fields
	problems := d.problems
	if f.Email != "" && !validEmail(f.Email) {
		problems = append(problems, fmt.Sprintf("email: %q is not a valid email", f.Email))
	}
	if f.FirstName == "" && f.LastName == "" {
		f.FirstName = d.fullName
	}
	if f.Email == "" && f.FirstName == "" {
		problems = append(problems, "has neither an email nor a firstName; Connect needs one of them")
	}
	status, err := v.leadStatus(d)
	if err != nil {
		problems = append(problems, err.Error())
	}
	f.LeadStatus = status
	return f, problems
}

// leadStatus resolves the record's lead status. A label wins over an id
// when both are given, as labels carry over from another workspace and ids
// do not; a vCard category that is a label counts when nothing else names
// a status; without any, the default applies.
func (v *validator) leadStatus(d *draft) (string, error) {
	switch {
	case d.leadStatusLabel != "":
		id, err := v.statuses.resolveLabel(d.leadStatusLabel, d.leadStatusID)
		return id, field("leadStatusLabel", err)
	case d.leadStatusID != "":
		if !v.statuses.byID(d.leadStatusID) {
			return "", fmt.Errorf("leadStatusId: %q is not a lead status id of the workspace (%s)", d.leadStatusID, v.statuses.known())
		}
		return d.leadStatusID, nil
	case d.leadStatus != "":
		id, err := v.statuses.resolve(d.leadStatus)
		return id, field("leadStatus", err)
	}
	return v.fromCategories(d), nil
}

// fromCategories takes the first of a vCard's categories that is a lead
// status label; the others cannot be imported.
func (v *validator) fromCategories(d *draft) string {
	status := v.defaultStatus
	found := false
	for _, c := range d.categories {
		if matches := v.statuses.byLabel(c); len(matches) == 1 && !found {
			status, found = matches[0].ID, true
			continue
		}
		d.drop("CATEGORIES")
	}
	return status
}

func field(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", name, err)
}
