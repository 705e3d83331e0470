package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

// The import's end-to-end tests run the real binary against the fake API,
// through the harness of main_test.go.

func (w *workspace) write(name, content string) string {
	w.t.Helper()
	path := w.path(name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

func (w *workspace) posts() int {
	n := 0
	for _, r := range w.api.Requests() {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

// contacts returns each contact of the workspace as a line of what an
// import can carry (phone types only when withTypes), sorted.
func (w *workspace) contacts(withTypes bool) []string {
	w.t.Helper()
	var lines []string
	for _, id := range w.api.IDs() {
		raw, _ := w.api.Contact(id)
		b, _ := json.Marshal(raw)
		c, err := contact.Parse(b)
		if err != nil {
			w.t.Fatal(err)
		}
		var phones []string
		for _, p := range c.Phones {
			if withTypes {
				p.Number += "/" + p.Type
			}
			phones = append(phones, p.Number)
		}
		slices.Sort(phones)
		status := ""
		if c.LeadStatus != nil {
			status = c.LeadStatus.ID
		}
		// The sinks turn CRLF into LF, and leading and trailing space is
		// not worth keeping.
		note := strings.TrimSpace(strings.ReplaceAll(c.Note, "\r\n", "\n"))
		lines = append(lines, strings.Join([]string{c.Email, c.FirstName, c.LastName, c.JobTitle, c.CompanyName,
			strings.Join(phones, ","), c.FacebookURL, c.InstagramURL, c.LinkedinURL, c.TwitterURL, note, status}, "|"))
	}
	slices.Sort(lines)
	return lines
}

const importCSV = `email,firstName,lastName,companyName,phoneNumbers,leadStatusLabel,Birthday
ada@example.com,Ada,Lovelace,Analytical Engines,+44 20 7946 0018; +44 20 7946 0019,Qualified Lead,1815-12-10
EXISTING@example.com,Existing,Person,,,,
x@,Broken,Email,,,,
,Walk-in,,,+1 555 0100,,
,Walk-in,,,+1 555 0100,,
,,Nobody,,,,
`

const importVCard = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Hopper;Grace;;;\r\nFN:Grace Hopper\r\n" +
	"EMAIL;TYPE=INTERNET;TYPE=pref:grace@example.org\r\nTEL;TYPE=CELL:+1 555 010 0199\r\n" +
	"PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRg==\r\nCATEGORIES:Contacted\r\nEND:VCARD\r\n"

func TestImportEndToEnd(t *testing.T) {
	w := newWorkspace(t, 5)
	existing := w.api.Add(map[string]any{"email": "existing@example.com", "firstName": "Existing"})
	csvFile, vcfFile := w.write("people.csv", importCSV), w.write("phone.vcf", importVCard)
	report := w.path("report.csv")

	r := w.run(nil, "import", csvFile, "--report", report, vcfFile, "--concurrency", "3")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (records were rejected)\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantOut := []string{
		`rejected  ` + csvFile + `:4: email: "x@" is not a valid email`,
		`skipped   ` + csvFile + `:6: Walk-in: duplicate of ` + csvFile + `:5 (same content)`,
		`rejected  ` + csvFile + `:7: has neither an email nor a firstName; Connect needs one of them`,
		`import: 3 created, 2 skipped, 2 rejected, 0 failed`,
	}
	if got := strings.Split(strings.TrimSpace(r.stdout), "\n"); !slices.Equal(got, wantOut) {
		t.Errorf("stdout\n got %q\nwant %q", got, wantOut)
	}
	for _, want := range []string{
		`warning: ` + csvFile + `: columns not imported, no Connect field takes them (--map can assign one): "Birthday"`,
		`warning: ` + vcfFile + `: not imported, Connect's create has no field for them: PHOTO in 1 of 1 cards`,
		`connect-sync: import: 2 rejected, 0 failed`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if w.posts() != 3 || len(w.api.IDs()) != 9 {
		t.Errorf("%d POSTs, %d contacts; want 3 and 9", w.posts(), len(w.api.IDs()))
	}

	rows := readCSV(t, report)
	if !slices.Equal(rows[0], []string{"file", "line", "email", "name", "outcome", "reason", "contact_id", "not_imported"}) || len(rows) != 8 {
		t.Fatalf("report: %q", rows)
	}
	ada, skipped, grace := rows[1], rows[2], rows[7]
	if ada[4] != "created" || ada[6] == "" || ada[7] != "Birthday" {
		t.Errorf("Ada's row: %q", ada)
	}
	if skipped[4] != "skipped" || skipped[5] != "the workspace has this email, as contact "+existing || skipped[6] != existing {
		t.Errorf("the existing contact's row: %q", skipped)
	}
	if grace[0] != vcfFile || grace[1] != "1" || grace[4] != "created" || grace[7] != "PHOTO" {
		t.Errorf("Grace's row: %q", grace)
	}
	if c, _ := w.api.Contact(ada[6]); fmt.Sprint(c["leadStatus"]) != "map[color:#10B981 id:3 label:Qualified Lead]" {
		t.Errorf("Ada's lead status: %v", c["leadStatus"])
	}
	if info, err := os.Stat(report); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("report file: %v, %v", info, err)
	}

	// Again: nothing new, and the records created are recognised.
	r = w.run(nil, "import", csvFile, vcfFile)
	if r.code != 1 || !strings.Contains(r.stdout, "import: 0 created, 5 skipped, 2 rejected, 0 failed") || w.posts() != 3 {
		t.Errorf("second import: exit %d, %d POSTs\n%s", r.code, w.posts(), r.stdout)
	}

	// Only good records: exit 0.
	good := w.write("good.csv", "email,firstName\nnew@example.com,New\n")
	if r := w.mustRun("import", good); !strings.Contains(r.stdout, "import: 1 created, 0 skipped, 0 rejected, 0 failed") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

func TestImportDryRun(t *testing.T) {
	w := newWorkspace(t, 3)
	csvFile := w.write("people.csv", "email,firstName\nada@example.com,Ada\n")
	r := w.mustRun("import", "--dry-run", csvFile)
	want := "to-create " + csvFile + ":2: Ada <ada@example.com>\ndry run: 1 to create, 0 to skip, 0 rejected; nothing was sent\n"
	if r.stdout != want {
		t.Errorf("stdout\n got %q\nwant %q", r.stdout, want)
	}
	if w.posts() != 0 {
		t.Error("a dry run sent a create")
	}
	if _, err := os.Stat(w.path("state.db")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a dry run created the state file")
	}
}

func TestImportUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no files", []string{"import"}, "import: no files given"},
		{"unknown flag", []string{"import", "--frob", "a.csv"}, "flag provided but not defined: -frob"},
		{"bad map", []string{"import", "--map", "Birthday=bday", "a.csv"}, `invalid value "Birthday=bday" for flag -map: "Birthday=bday": no field "bday"`},
		{"concurrency", []string{"import", "--concurrency", "0", "a.csv"}, "--concurrency: 0 is not between 1 and 16"},
		{"policy", []string{"import", "--on-duplicate", "merge", "a.csv"}, `--on-duplicate: "merge" is not skip or create`},
		{"lead status", []string{"import", "--lead-status", "Cold", "a.csv"}, `--lead-status: "Cold" is not a lead status of the workspace (known: "New Lead" (1), "Contacted" (2), "Qualified Lead" (3), "Lost" (4))`},
		{"missing file", []string{"import", "missing.csv"}, "open missing.csv: no such file or directory"},
		{"unknown type", []string{"import", "notes.txt"}, "notes.txt: not a .csv, .vcf or .vcard file, and its content is neither vCard (BEGIN:VCARD) nor CSV with a header row"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorkspace(t, 1)
			w.write("a.csv", "email\na@example.com\n")
			w.write("notes.txt", "hello\n")
			for i, a := range tt.args {
				if strings.HasSuffix(a, ".csv") || strings.HasSuffix(a, ".txt") {
					tt.args[i] = w.path(a)
				}
			}
			r := w.run(nil, tt.args...)
			if r.code != 2 || !strings.Contains(strings.ReplaceAll(r.stderr, w.dir+"/", ""), tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", r.code, r.stderr, tt.want)
			}
			if w.posts() != 0 {
				t.Error("something was sent")
			}
		})
	}
}

func TestImportFileErrorSendsNothing(t *testing.T) {
	w := newWorkspace(t, 1)
	good := w.write("good.csv", "email\na@example.com\n")
	bad := w.write("bad.vcf", "BEGIN:VCARD\nEMAIL:b@example.com\nEND:VCARD\nstray text\n")
	r := w.run(nil, "import", good, bad)
	want := "connect-sync: " + bad + ` (read as vCard by its extension): line 4: "stray text" is outside of any BEGIN:VCARD ... END:VCARD`
	if r.code != 1 || !strings.Contains(r.stderr, want) || w.posts() != 0 {
		t.Errorf("exit %d, %d POSTs, stderr:\n%s\nwant %q", r.code, w.posts(), r.stderr, want)
	}
}

func TestImportRetriesAndSettles(t *testing.T) {
	post := "POST /api/connect/contacts"
	w := newWorkspace(t, 2)
	w.api.Fail(fakeconnect.Fault{Endpoint: post, Status: 429, RetryAfter: "1"})
	w.api.Fail(fakeconnect.Fault{Endpoint: post, Status: 500})
	w.api.Fail(fakeconnect.Fault{Endpoint: post, Truncate: 10}) // created, answer lost
	in := w.write("in.csv", "firstName,lastName\nA,One\nB,Two\nC,Three\n")
	r := w.mustRun("import", "--concurrency", "1", in)
	if !strings.Contains(r.stdout, "import: 3 created, 0 skipped, 0 rejected, 0 failed") || len(w.api.IDs()) != 5 {
		t.Errorf("%d contacts; stdout:\n%s\nstderr:\n%s", len(w.api.IDs()), r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "creates with an unknown outcome; looking for them in the workspace") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestImportInterruptedAndRunAgain kills the import right after a create
// succeeded and before the state file recorded it, the worst moment, and
// checks that running it again completes it without a duplicate.
func TestImportInterruptedAndRunAgain(t *testing.T) {
	w := newWorkspace(t, 0)
	var b strings.Builder
	b.WriteString("email,firstName,lastName\n")
	for i := range 12 {
		email := fmt.Sprintf("p%d@example.com", i)
		if i%3 == 0 {
			email = "" // known by its fingerprint only
		}
		fmt.Fprintf(&b, "%s,Person,%d\n", email, i)
	}
	in := w.write("in.csv", b.String())
	// One at a time, so that the create cut off is the fourth record's,
	// one without an email.
	r := w.run([]string{"CONNECT_SYNC_CRASHPOINT=import-after-create:4"}, "import", "--concurrency", "1", in)
	if !r.killed {
		t.Fatalf("not killed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	before := len(w.api.IDs())
	if before != 4 {
		t.Fatalf("%d contacts created before the crash, want 4", before)
	}
	r = w.mustRun("import", in)
	if got := len(w.api.IDs()); got != 12 {
		t.Errorf("%d contacts after running again, want 12\n%s", got, r.stdout)
	}
	want := fmt.Sprintf("import: %d created, %d skipped, 0 rejected, 0 failed", 12-before, before)
	if !strings.Contains(r.stdout, want) {
		t.Errorf("stdout:\n%s\nwant %q", r.stdout, want)
	}
}

// TestImportRoundTrip exports a workspace with both sinks and imports each
// export into an empty workspace: the same contacts come back, and
// importing the other export on top adds none.
func TestImportRoundTrip(t *testing.T) {
	src := newWorkspace(t, 60)
	// Cells the csv sink's formula guard prefixes: the import takes the
	// apostrophe off, and only that.
	for i, note := range []string{" =1", "\n@x", "＝1+1", "'=1", "\u3000-2", "'hello"} {
		src.api.Add(map[string]any{"email": fmt.Sprintf("guarded%d@example.com", i), "firstName": "Guarded", "note": note, "jobTitle": "＠" + note})
	}
	src.mustRun("sync")
	exportedCSV := src.path("contacts.csv")
	cards, err := filepath.Glob(filepath.Join(src.path("vcards"), "*.vcf"))
	if err != nil || len(cards) != 66 {
		t.Fatalf("%d cards, %v", len(cards), err)
	}
	want := src.contacts(false)

	dst := newWorkspace(t, 0)
	dst.mustRun("import", exportedCSV)
	if got := dst.contacts(false); !slices.Equal(got, want) {
		t.Errorf("from the csv export:\n%s", diffLines(got, want))
	}
	// With duplicates to be created, only the fingerprints the csv import
	// recorded keep the cards out: a contact reads the same from either
	// export.
	r := dst.mustRun(append([]string{"import", "--on-duplicate", "create"}, cards...)...)
	if !strings.Contains(r.stdout, "import: 0 created, 66 skipped") {
		t.Errorf("the vCards on top of the csv import:\n%s", r.stdout)
	}
	if got := dst.contacts(false); !slices.Equal(got, want) {
		t.Errorf("after importing both:\n%s", diffLines(got, want))
	}

	fromCards := newWorkspace(t, 0)
	fromCards.mustRun(append([]string{"import"}, cards...)...)
	if got, want := fromCards.contacts(true), src.contacts(true); !slices.Equal(got, want) {
		t.Errorf("from the vCards, phone types included:\n%s", diffLines(got, want))
	}
}

func diffLines(got, want []string) string {
	var b strings.Builder
	for _, l := range got {
		if !slices.Contains(want, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	for _, l := range want {
		if !slices.Contains(got, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}
