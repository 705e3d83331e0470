package csv

import (
	"slices"
	"strings"
	"testing"

	stdcsv "encoding/csv"

	"github.com/connect-sync/connect-sync/internal/contact"
)

func TestFormulaGuard(t *testing.T) {
	tests := []struct {
		name    string
		c       contact.Contact
		column  string
		on, off string // the cell with the guard on and off
	}{
		{"equals", contact.Contact{Note: "=1+1"}, "note", "'=1+1", "=1+1"},
		{"plus", contact.Contact{FirstName: "+SUM(A1)"}, "firstName", "'+SUM(A1)", "+SUM(A1)"},
		{"minus", contact.Contact{LastName: "-2+3"}, "lastName", "'-2+3", "-2+3"},
		{"at", contact.Contact{JobTitle: "@cmd"}, "jobTitle", "'@cmd", "@cmd"},
		{"tab", contact.Contact{CompanyName: "\t=1"}, "companyName", "'\t=1", "\t=1"},
		{"carriage return", contact.Contact{Note: "\r=1"}, "note", "'\r=1", "\r=1"},
		{"id", contact.Contact{ID: "-1"}, "id", "'-1", "-1"},
		{"lead status", contact.Contact{LeadStatus: &contact.LeadStatus{Label: "@x"}}, "leadStatusLabel", "'@x", "@x"},
		{"url", contact.Contact{LinkedinURL: "=HYPERLINK(1)"}, "linkedinUrl", "'=HYPERLINK(1)", "=HYPERLINK(1)"},
		{"formula later in the cell", contact.Contact{Note: "a=1+1"}, "note", "a=1+1", "a=1+1"},
		{"leading space", contact.Contact{Note: " =1"}, "note", "' =1", " =1"},
		{"leading newline", contact.Contact{Note: "\n=1"}, "note", "'\n=1", "\n=1"},
		{"leading CRLF", contact.Contact{Note: "\r\n@x"}, "note", "'\n@x", "\n@x"},
		{"CRLF then text", contact.Contact{Note: "\r\nhello"}, "note", "\nhello", "\nhello"},
		{"leading tab then text", contact.Contact{Note: "\thello"}, "note", "'\thello", "\thello"},
		{"leading spaces and tab", contact.Contact{FullName: " \t -1"}, "fullName", "' \t -1", " \t -1"},
		{"no-break space", contact.Contact{Email: "\u00a0=1"}, "email", "'\u00a0=1", "\u00a0=1"},
		{"ideographic space", contact.Contact{FirstName: "\u3000@x"}, "firstName", "'\u3000@x", "\u3000@x"},
		{"full-width equals", contact.Contact{Note: "＝HYPERLINK(1)"}, "note", "'＝HYPERLINK(1)", "＝HYPERLINK(1)"},
		{"full-width plus", contact.Contact{LastName: "＋1"}, "lastName", "'＋1", "＋1"},
		{"full-width minus", contact.Contact{JobTitle: "－1"}, "jobTitle", "'－1", "－1"},
		{"full-width at", contact.Contact{CompanyName: "＠x"}, "companyName", "'＠x", "＠x"},
		{"full-width after space", contact.Contact{Note: " ＝1"}, "note", "' ＝1", " ＝1"},
		{"NUL before formula", contact.Contact{Note: "\x00=1+1"}, "note", "'=1+1", "\x00=1+1"},
		{"NUL inside", contact.Contact{Note: "a\x00b"}, "note", "ab", "a\x00b"},
		{"apostrophe already", contact.Contact{Note: "'=1"}, "note", "''=1", "'=1"},
		{"apostrophe before text", contact.Contact{Note: "'hello"}, "note", "'hello", "'hello"},
		{"empty", contact.Contact{}, "note", "", ""},
		{"phone", phones("+1 555 0100"), "phoneNumbers", "+1 555 0100", "+1 555 0100"},
		{"phones", phones("+1 555 0100", "+44 20 7946 0958"), "phoneNumbers", "+1 555 0100; +44 20 7946 0958", "+1 555 0100; +44 20 7946 0958"},
		{"phone punctuation", phones("-(020) 7946-0958", "+1.555/0100"), "phoneNumbers", "-(020) 7946-0958; +1.555/0100", "-(020) 7946-0958; +1.555/0100"},
		{"phone with letters", phones("+1 555 0100 ext 7"), "phoneNumbers", "'+1 555 0100 ext 7", "+1 555 0100 ext 7"},
		{"phone with equals", phones("+1=1"), "phoneNumbers", "'+1=1", "+1=1"},
		{"phone with bare semicolon", phones("+1;2"), "phoneNumbers", "'+1;2", "+1;2"},
		{"phone formula", phones("=HYPERLINK(1)"), "phoneNumbers", "'=HYPERLINK(1)", "=HYPERLINK(1)"},
		{"formula before phone", phones("@x", "+1 555"), "phoneNumbers", "'@x; +1 555", "@x; +1 555"},
		{"formula after phone", phones("+1 555", "=1"), "phoneNumbers", "'+1 555; =1", "+1 555; =1"},
		{"phone tab", phones("\t555"), "phoneNumbers", "'\t555", "\t555"},
		{"phone with leading space", phones(" +49 30 123"), "phoneNumbers", " +49 30 123", " +49 30 123"},
		{"phone minus", phones("-5"), "phoneNumbers", "-5", "-5"},
		{"phone full-width plus", phones("＋49 30 123"), "phoneNumbers", "'＋49 30 123", "＋49 30 123"},
		{"phone after newline", phones("\n+1"), "phoneNumbers", "'\n+1", "\n+1"},
		{"phone-like elsewhere", contact.Contact{Note: "+1 555 0100"}, "note", "'+1 555 0100", "+1 555 0100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for guard, want := range map[bool]string{true: tt.on, false: tt.off} {
				if got := cell(t, tt.c, tt.column, guard); got != want {
					t.Errorf("guard %v: %q, want %q", guard, got, want)
				}
			}
		})
	}
}

func phones(numbers ...string) contact.Contact {
	var c contact.Contact
	for _, n := range numbers {
		c.Phones = append(c.Phones, contact.Phone{Number: n, Type: "mobile"})
	}
	return c
}

// cell encodes the contact and reads the named cell back.
func cell(t *testing.T, c contact.Contact, name string, guard bool) string {
	t.Helper()
	key, line, err := encodeRow(c, guard)
	if err != nil {
		t.Fatal(err)
	}
	record, err := stdcsv.NewReader(strings.NewReader(line)).Read()
	if err != nil {
		t.Fatal(err)
	}
	if key != record[0] {
		t.Errorf("key %q, id cell %q", key, record[0])
	}
	return record[slices.IndexFunc(columns, func(col column) bool { return col.name == name })]
}

func TestPhoto(t *testing.T) {
	for photo, want := range map[string]string{
		"https://cdn.example.com/a.png": "https://cdn.example.com/a.png",
		"http://example.com/a.png?x=1":  "http://example.com/a.png?x=1",
		"HTTPS://EXAMPLE.COM/A.PNG":     "HTTPS://EXAMPLE.COM/A.PNG",
		"javascript:alert(1)":           "",
		"data:image/png;base64,AAAA":    "",
		"ftp://example.com/a.png":       "",
		"//example.com/a.png":           "",
		"/avatars/1.png":                "",
		"https://":                      "",
		" https://example.com/a.png":    "",
		"":                              "",
	} {
		if got := cell(t, contact.Contact{Photo: photo}, "photo", true); got != want {
			t.Errorf("%q: %q, want %q", photo, got, want)
		}
	}
}

func TestCompareIDs(t *testing.T) {
	ids := []string{"b", "10", "Zed", "9", "abc", "010", "100000000000000000000000", "2", "-1", "1a", "99999999999999999999999", "1"}
	slices.SortFunc(ids, compareIDs)
	want := []string{"1", "2", "9", "010", "10", "99999999999999999999999", "100000000000000000000000", "-1", "1a", "Zed", "abc", "b"}
	if !slices.Equal(ids, want) {
		t.Errorf("got  %q\nwant %q", ids, want)
	}
}
