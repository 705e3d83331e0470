package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
	csvsink "github.com/connect-sync/connect-sync/internal/sinks/csv"
)

func mapping(t *testing.T, values ...string) Mapping {
	t.Helper()
	var m Mapping
	for _, v := range values {
		if err := m.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func readCSVDrafts(t *testing.T, name string, m Mapping) ([]*draft, []string) {
	t.Helper()
	var drafts []*draft
	warnings, err := readFile(name, m, func(d *draft) { drafts = append(drafts, d) })
	if err != nil {
		t.Fatal(err)
	}
	return drafts, warnings
}

func TestImportReadsTheSinkCSVAsItIs(t *testing.T) {
	drafts, warnings := readCSVDrafts(t, "testdata/sink.csv", nil)
	want := []struct {
		summary, note, leadID, leadLabel string
		lines                            int
		notImported                      []string
	}{
		{"john@example.com|John|Doe|John Doe|Acme, Inc.|Developer|+1 555 0100/,+44 20 7946 0958/|https://facebook.com/john|https://linkedin.com/in/john|https://x.com/john",
			"Met at the fair.\nSaid \"call me\", twice; then left.", "2", "Contacted", 2,
			[]string{"id", "photo", "leadStatusType", "lastActivityAt", "createdAt"}},
		{"jane@example.com|Jane||Jane|||", "=SUM(A1:A10)", "", "", 4, []string{"id", "createdAt"}},
		{"|Walk-in||Walk-in|||+49 30 1234567/", "-2 seats", "3", "Qualified Lead", 5, []string{"id", "leadStatusType", "createdAt"}},
	}
	if len(drafts) != len(want) {
		t.Fatalf("%d records, want %d", len(drafts), len(want))
	}
	for i, d := range drafts {
		w := want[i]
		if got := summary(d); got != w.summary {
			t.Errorf("row %d:\n got %s\nwant %s", i+1, got, w.summary)
		}
		if d.Note != w.note || d.leadStatusID != w.leadID || d.leadStatusLabel != w.leadLabel || d.at.Line != w.lines {
			t.Errorf("row %d: note %q, lead status %q/%q, line %d", i+1, d.Note, d.leadStatusID, d.leadStatusLabel, d.at.Line)
		}
		if !slices.Equal(d.notImported, w.notImported) {
			t.Errorf("row %d: not imported %q, want %q", i+1, d.notImported, w.notImported)
		}
	}
	wantWarning := `testdata/sink.csv: columns not imported, no Connect field takes them (--map can assign one): "id", "photo", "leadStatusType", "lastActivityAt", "createdAt"`
	if !slices.Equal(warnings, []string{wantWarning}) {
		t.Errorf("warnings %q\nwant %q", warnings, wantWarning)
	}
}

func TestImportForeignCSVWithMap(t *testing.T) {
	m := mapping(t, "Company=companyName,Business Phone=phoneNumbers", "Mobile Phone=phoneNumbers,E-mail Address=email,Notes=note", "Title=")
	drafts, warnings := readCSVDrafts(t, "testdata/outlook.csv", m)
	got := []string{summary(drafts[0]) + "|" + drafts[0].Note, summary(drafts[1])}
	want := []string{
		"juergen@baeckerei-mueller.example|Jürgen|Müller||Bäckerei Müller GmbH|Verkaufsleiter|+49 30 1234567/,+49 171 1234567/|Kunde seit 2019",
		"erika@example.de|Erika|Mustermann||||", // Title (Dr.) was left out on purpose
	}
	if !slices.Equal(got, want) {
		t.Errorf("records\n got %q\nwant %q", got, want)
	}
	if !slices.Equal(drafts[0].notImported, []string{"Birthday"}) || len(drafts[1].notImported) != 0 {
		t.Errorf("not imported: %q, %q", drafts[0].notImported, drafts[1].notImported)
	}
	wantWarning := `testdata/outlook.csv: columns not imported, no Connect field takes them (--map can assign one): "Middle Name", "Birthday"`
	if !slices.Equal(warnings, []string{wantWarning}) {
		t.Errorf("warnings %q\nwant %q", warnings, wantWarning)
	}
}

func TestImportSemicolonsAndByteOrderMark(t *testing.T) {
	drafts, _ := readCSVDrafts(t, "testdata/excel-semicolon.csv", mapping(t, "Vorname=firstName,Nachname=lastName,Firma=companyName"))
	if len(drafts) != 1 || summary(drafts[0]) != "anna@example.de|Anna|Schmidt||ACME, Inc.||" {
		t.Fatalf("records: %d, first %s", len(drafts), summary(drafts[0]))
	}
}

func TestImportCSVFileErrors(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"a.csv", "", `a.csv (read as CSV by its extension): no header row: the file is empty`},
		{"a.csv", "email,E-Mail\nx@example.com,y@example.com\n", `a.csv (read as CSV by its extension): header: columns "email" and "E-Mail" both map to email`},
		{"a.csv", "email,firstName\n\"x@example.com,Ann\nb,c\n", `a.csv (read as CSV by its extension): record on line 2; parse error on line 3, column 5: extraneous or missing " in quoted-field`},
		{"export.txt", "email,firstName\nx@example.com,bad\"quote\n", `export.txt (read as CSV by its content): parse error on line 2, column 18: bare " in non-quoted-field`},
		{"a.vcf", "email,firstName\n", `a.vcf (read as vCard by its extension): line 1: "email,firstName" is outside of any BEGIN:VCARD ... END:VCARD`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.name)
			os.WriteFile(path, []byte(tt.content), 0o600)
			_, err := readFile(path, nil, func(*draft) {})
			if err == nil || strings.ReplaceAll(err.Error(), path, tt.name) != tt.want {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestImportCSVRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.csv")
	os.WriteFile(path, []byte("email,firstName\nshort@example.com\n,\n\nlong@example.com,Long,extra\ntrailing@example.com,T,,\n"), 0o600)
	drafts, _ := readCSVDrafts(t, path, nil)
	var got []string
	for _, d := range drafts {
		got = append(got, d.at.String()[len(path):]+" "+d.Email+" "+strings.Join(d.problems, ";"))
	}
	want := []string{
		":2 short@example.com ",
		":5 long@example.com has 3 cells, the header 2: a quoting problem?",
		":6 trailing@example.com ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows\n got %q\nwant %q", got, want)
	}
}

func TestImportMappingFlag(t *testing.T) {
	tests := []struct{ value, want, err string }{
		{"E-mail Address=email", "E-mail Address=email", ""},
		{"a=First Name, b = PHONENUMBERS", "a=firstName,b=phoneNumbers", ""},
		{"x=y=email", "x=y=email", ""},
		{"Birthday=", "Birthday=", ""},
		{"email", "", `"email" is not column=field`},
		{"=email", "", `"=email" is not column=field`},
		{"a=birthday", "", `"a=birthday": no field "birthday" (fields: companyName, email, facebookUrl, firstName, fullName, instagramUrl, jobTitle, lastName, leadStatus, leadStatusId, leadStatusLabel, linkedinUrl, note, phoneNumbers, twitterUrl)`},
	}
	for _, tt := range tests {
		var m Mapping
		err := m.Set(tt.value)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Set(%q) = %v, want %s", tt.value, err, tt.err)
			}
			continue
		}
		if err != nil || m.String() != tt.want {
			t.Errorf("Set(%q): %q, %v; want %q", tt.value, m.String(), err, tt.want)
		}
	}
}

func TestImportFileTypes(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"a.CSV", "x", "CSV by its extension"},
		{"a.vcard", "x", "vCard by its extension"},
		{"contacts", "\r\n  begin:vcard\r\nEND:VCARD\r\n", "vCard by its content"},
		{"contacts.txt", "email;name\n", "CSV by its content"},
		{"notes.txt", "hello\n", "not a .csv, .vcf or .vcard file, and its content is neither vCard (BEGIN:VCARD) nor CSV with a header row"},
		{"utf16.csv", "\xff\xfee\x00", "the file is UTF-16; save it as UTF-8"},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), tt.name)
		os.WriteFile(path, []byte(tt.content), 0o600)
		in, err := openInput(path)
		got := ""
		if err != nil {
			got = strings.TrimPrefix(err.Error(), path+": ")
		} else {
			got = string(in.format) + " " + in.by
			in.file.Close()
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, err := openInput(filepath.Join(t.TempDir(), "missing.csv")); err == nil || !isArgumentError(err) {
		t.Errorf("a missing file: %v, want an ArgumentError", err)
	}
	if _, err := openInput(t.TempDir()); err == nil || !isArgumentError(err) {
		t.Errorf("a directory: %v, want an ArgumentError", err)
	}
}

func isArgumentError(err error) bool {
	_, ok := err.(*ArgumentError)
	return ok
}

// TestImportReadsEveryGuardedCellBack writes contacts with the csv sink,
// its formula guard on, and imports the file: every cell comes back as the
// contact had it, the guard's apostrophe removed and no other, NUL bytes
// aside (the guard removes them) and trimmed, as the import trims every
// cell.
func TestImportReadsEveryGuardedCellBack(t *testing.T) {
	notes := []string{
		"=1+1", "+SUM(A1)", "-2", "@cmd", " =1", "\n=1", "\r\n=1", "\r\nhello", "\tx", "\rx",
		"\u00a0@x", "\u3000=1", "＝1", "＋1", "－1", "＠x", " ＝1", "'=1", "''@x", "' -1", "'hello", "'",
		"a\x00=b", "\x00=1", "it's =1", "-5",
	}
	phones := []string{"+49 30 123", "-5", "＋49 30 123", "=1", "'+1"}
	path := filepath.Join(t.TempDir(), "contacts.csv")
	cfg := csvsink.DefaultConfig()
	cfg.Path = path
	sink, err := cfg.Open(sinks.Env{Name: "sheet"})
	if err != nil {
		t.Fatal(err)
	}
	var batch []contact.Change
	for i, note := range notes {
		c := contact.Contact{ID: strconv.Itoa(i + 1), Email: fmt.Sprintf("p%d@example.com", i), Note: note, JobTitle: note}
		if i < len(phones) {
			c.Phones = []contact.Phone{{Number: phones[i]}}
		}
		batch = append(batch, contact.Change{ID: c.ID, Kind: contact.Created, Contact: c})
	}
	for _, err := range sink.Deliver(t.Context(), batch) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.(sinks.Committer).Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	drafts, _ := readCSVDrafts(t, path, nil)
	if len(drafts) != len(notes) {
		t.Fatalf("%d records, want %d", len(drafts), len(notes))
	}
	asRead := func(s string) string {
		return strings.TrimSpace(strings.NewReplacer("\x00", "", "\r\n", "\n").Replace(s))
	}
	for i, d := range drafts {
		if want := asRead(notes[i]); d.Note != want || d.JobTitle != want {
			t.Errorf("%q reads back as note %q, job title %q, want %q", notes[i], d.Note, d.JobTitle, want)
		}
		if i < len(phones) && (len(d.Phones) != 1 || d.Phones[0].Number != phones[i]) {
			t.Errorf("phone %q reads back as %v", phones[i], d.Phones)
		}
	}
}
