package importer

import (
	"bytes"
	"testing"
)

func sampleResult(dryRun bool) *Result {
	res := &Result{DryRun: dryRun, Records: []*Record{
		{Location: Location{"in.csv", 2}, Fields: Fields{Email: "ann@example.com", FirstName: "Ann", LastName: "Lee"}, Outcome: Created, ContactID: "41"},
		{Location: Location{"in.csv", 3}, Fields: Fields{Email: "bob@example.com"}, Outcome: Skipped, ContactID: "7", Reason: "the workspace has this email, as contact 7"},
		{Location: Location{"in.csv", 4}, Fields: Fields{Email: "x@"}, Outcome: Rejected, Reason: `email: "x@" is not a valid email`},
		{Location: Location{"in.csv", 5}, Fields: Fields{FirstName: "=cmd|' /C calc'!A0"}, Outcome: Failed, Reason: "source: create-contact: the Connect API answered 500"},
		{Location: Location{"cards.vcf", 1}, Fields: Fields{FirstName: "Plumber"}, Outcome: Skipped, Duplicate: true, Reason: "duplicate of in.csv:9 (same content)", NotImported: []string{"PHOTO", "ADR"}},
		{Location: Location{"in.csv", 6}, Fields: Fields{Email: "\n@x", FirstName: "\u3000＝1+1\x00", LastName: "Zoë\x1b[8m"}, Outcome: Failed, Reason: "answered \x1b]0;pwned\x07\u202e"},
	}}
	if dryRun {
		res.Records[0].Outcome, res.Records[0].ContactID = ToCreate, ""
	}
	return res
}

func TestImportWriteReport(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, sampleResult(false)); err != nil {
		t.Fatal(err)
	}
	want := `file,line,email,name,outcome,reason,contact_id,not_imported
in.csv,2,ann@example.com,Ann Lee,created,,41,
in.csv,3,bob@example.com,,skipped,"the workspace has this email, as contact 7",7,
in.csv,4,x@,,rejected,"email: ""x@"" is not a valid email",,
in.csv,5,,'=cmd|' /C calc'!A0,failed,source: create-contact: the Connect API answered 500,,
cards.vcf,1,,Plumber,skipped,duplicate of in.csv:9 (same content),,PHOTO; ADR
` +
		// Data, not terminal output: the cells are exact but for the
		// formula guard's apostrophe and the NUL it removes.
		"in.csv,6,\"'\n@x\",'＝1+1 Zoë\x1b[8m,failed,answered \x1b]0;pwned\a\u202e,,\n"
	if buf.String() != want {
		t.Errorf("report\n got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestImportPrint(t *testing.T) {
	tests := []struct {
		dryRun bool
		want   string
	}{
		{false, `rejected  in.csv:4: email: "x@" is not a valid email
failed    in.csv:5: =cmd|' /C calc'!A0: source: create-contact: the Connect API answered 500
skipped   cards.vcf:1: Plumber: duplicate of in.csv:9 (same content)
failed    in.csv:6: ＝1+1\x00 Zoë\x1b[8m <\n@x>: answered \x1b]0;pwned\a\u202e
import: 1 created, 2 skipped, 1 rejected, 2 failed
`},
		{true, `to-create in.csv:2: Ann Lee <ann@example.com>
skipped   in.csv:3: bob@example.com: the workspace has this email, as contact 7
rejected  in.csv:4: email: "x@" is not a valid email
failed    in.csv:5: =cmd|' /C calc'!A0: source: create-contact: the Connect API answered 500
skipped   cards.vcf:1: Plumber: duplicate of in.csv:9 (same content)
failed    in.csv:6: ＝1+1\x00 Zoë\x1b[8m <\n@x>: answered \x1b]0;pwned\a\u202e
dry run: 1 to create, 2 to skip, 1 rejected; nothing was sent
`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		Print(&buf, sampleResult(tt.dryRun))
		if buf.String() != tt.want {
			t.Errorf("dry run %v:\n got:\n%s\nwant:\n%s", tt.dryRun, buf.String(), tt.want)
		}
	}
}
