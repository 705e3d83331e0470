package importer

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
)

// readDrafts reads a file as the import does, without validation.
func readDrafts(t *testing.T, name string) ([]*draft, []string) {
	t.Helper()
	var drafts []*draft
	warnings, err := readFile(name, nil, func(d *draft) { drafts = append(drafts, d) })
	if err != nil {
		t.Fatal(err)
	}
	return drafts, warnings
}

// summary is a draft in one line, for comparing with what a test wants.
func summary(d *draft) string {
	var phones []string
	for _, p := range d.Phones {
		phones = append(phones, p.Number+"/"+p.Type)
	}
	s := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s", d.Email, d.FirstName, d.LastName, d.fullName, d.CompanyName, d.JobTitle, strings.Join(phones, ","))
	for _, u := range []string{d.FacebookURL, d.InstagramURL, d.LinkedinURL, d.TwitterURL} {
		if u != "" {
			s += "|" + u
		}
	}
	return s
}

func TestImportReadsRealWorldVCards(t *testing.T) {
	type want struct {
		summary     string
		note        string
		categories  []string
		notImported []string
		problems    string
	}
	tests := []struct {
		file  string
		cards []want
	}{
		{"testdata/google-3.0.vcf", []want{
			{summary: "ada@example.com|Ada|Lovelace||Analytical Engines Ltd|Programmer|+44 20 7946 0018/mobile,+44 20 7946 0019/lab|https://www.linkedin.com/in/ada-lovelace",
				note:        "First programmer.\nLikes poetry, science; and numbers.",
				categories:  []string{"myContacts", "Qualified Lead"},
				notImported: []string{"ADR", "BDAY", "EMAIL (another)"}},
			{summary: "CHARLES@Example.com|Charles|Babbage||Analytical Engines Ltd||+44 20 7946 0020/work",
				categories:  []string{"myContacts", "starred"},
				notImported: []string{"ORG (unit)"}},
		}},
		{"testdata/iphone-3.0.vcf", []want{
			{summary: "grace@example.org|Grace|Hopper||US Navy|Rear Admiral|+1 (555) 010-0199/mobile,+1 555 010 0198/mobile,+1 555 010 0197/other|http://www.linkedin.com/in/ghopper|https://twitter.com/gracehopper",
				note:        "Found a moth in the relay. A long note that goes on and on, so that the exporter folds it at seventy-five octets, as iOS does.",
				notImported: []string{"N (middle name/prefix/suffix)", "ADR", "PHOTO", "EMAIL (another)"}},
			{summary: "|Plumber|||||+1 555 010 0150/mobile", note: "Comes on Tuesdays"},
		}},
		{"testdata/outlook-2.1.vcf", []want{
			{summary: "juergen@baeckerei-mueller.example|Jürgen|Müller||Bäckerei Müller GmbH|Verkaufsleiter|+49 30 1234567/work,+49 171 1234567/mobile,+49 30 1234568/fax",
				note:        "Erste Zeile\nZweite Zeile mit äöü € und einem langen Text, der umbrochen wird, damit keine Zeile zu lang ist.",
				notImported: []string{"ORG (unit)", "ADR", "LABEL", "URL"}},
			{summary: "taro@example.jp||||||", problems: "N: CHARSET=SHIFT_JIS is not supported (UTF-8, ISO-8859-1 and Windows-1252 are)"},
			{summary: "outlook.photo@example.com|Outlook|Photo||||", notImported: []string{"PHOTO"}},
		}},
		{"testdata/android-2.1.vcf", []want{
			{summary: "ayse@example.com.tr|Ayşe|Öztürk||||+90 212 555 0101/mobile"},
		}},
		{"testdata/nextcloud-4.0.vcf", []want{
			{summary: "katherine@example.net|Katherine|Johnson||NASA||+1-555-010-0142/mobile",
				categories: []string{"New Lead"}, notImported: []string{"GENDER", "EMAIL (another)"}},
			{summary: "dorothy@example.net|||Dorothy Vaughan|||"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			drafts, _ := readDrafts(t, tt.file)
			if len(drafts) != len(tt.cards) {
				t.Fatalf("%d cards, want %d", len(drafts), len(tt.cards))
			}
			for i, d := range drafts {
				w := tt.cards[i]
				if got := summary(d); got != w.summary {
					t.Errorf("card %d:\n got %s\nwant %s", i+1, got, w.summary)
				}
				if d.Note != w.note {
					t.Errorf("card %d: note %q, want %q", i+1, d.Note, w.note)
				}
				if !slices.Equal(d.categories, w.categories) {
					t.Errorf("card %d: categories %q, want %q", i+1, d.categories, w.categories)
				}
				if !slices.Equal(d.notImported, w.notImported) {
					t.Errorf("card %d: not imported %q, want %q", i+1, d.notImported, w.notImported)
				}
				if got := strings.Join(d.problems, "; "); got != w.problems {
					t.Errorf("card %d: problems %q, want %q", i+1, got, w.problems)
				}
			}
		})
	}
}

func TestImportCardWarningSumsUpPerFile(t *testing.T) {
	_, warnings := readDrafts(t, "testdata/iphone-3.0.vcf")
	want := "testdata/iphone-3.0.vcf: not imported, Connect's create has no field for them: ADR in 1 of 2 cards; EMAIL (another) in 1 of 2 cards; N (middle name/prefix/suffix) in 1 of 2 cards; PHOTO in 1 of 2 cards (the --report file lists them per card)"
	if !slices.Equal(warnings, []string{want}) {
		t.Errorf("warnings %q\nwant %q", warnings, want)
	}
}

// TestImportReadsOwnCardsBack reads the cards the vcard-dir sink writes: what the
// API's create takes comes back as it was, escapes and folding included.
func TestImportReadsOwnCardsBack(t *testing.T) {
	raw := `{"id": 7, "email": "zoë.müller@example.com", "firstName": "Zoë; \"Z\", the 1st",
		"lastName": "Müller-Łukasiewicz, Jr.; PhD", "companyName": "Acme; Widgets, Inc. \\ 株式会社",
		"jobTitle": "Head of Sales, EMEA; 営業部長",
		"phoneNumbers": [{"number": "+49 30 1234567", "type": "mobile"}, {"number": "+1 555 0100", "type": "work"}, {"number": "112"}],
		"note": "Met at the fair, booth 12; wants a demo.\nShe said \"call me\" \\ not before 9.\n日本語のメモはここに続きます、とても長い文章です。🙂🙂🙂",
		"facebookUrl": "https://facebook.com/zoe", "instagramUrl": "https://instagram.com/zoe",
		"linkedinUrl": "https://www.linkedin.com/in/zoe/", "twitterUrl": "http://twitter.com/zoe",
		"photo": "https://cdn.example.com/zoe.jpg", "leadStatus": {"id": 3, "label": "Qualified Lead"},
		"lastActivityAt": "2024-01-02T15:04:05Z"}`
	c, err := contact.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{card.Version3, card.Version4} {
		t.Run(version, func(t *testing.T) {
			var buf bytes.Buffer
			if err := card.Encode(&buf, c, card.Options{Version: version, SourceURL: "https://api.skarbe.com"}); err != nil {
				t.Fatal(err)
			}
			var drafts []*draft
			if err := readCards(bufio.NewReader(&buf), func(k rawCard) { drafts = append(drafts, cardDraft("own.vcf", k)) }); err != nil {
				t.Fatal(err)
			}
			if len(drafts) != 1 {
				t.Fatalf("%d cards", len(drafts))
			}
			d := drafts[0]
			want := contactFields(c)
			want.LeadStatus = ""
			want.Phones = []contact.Phone{{Number: "+49 30 1234567", Type: "mobile"}, {Number: "+1 555 0100", Type: "work"}, {Number: "112"}}
			if got := fmt.Sprintf("%+v", d.Fields); got != fmt.Sprintf("%+v", want) {
				t.Errorf("read back\n got %s\nwant %+v", got, want)
			}
			if !slices.Equal(d.categories, []string{"Qualified Lead"}) || !slices.Equal(d.notImported, []string{"PHOTO"}) || len(d.problems) > 0 {
				t.Errorf("categories %q, not imported %q, problems %q", d.categories, d.notImported, d.problems)
			}
		})
	}
}

func TestImportCardStructure(t *testing.T) {
	tests := []struct {
		name, in string
		cards    []string // each card's email and problems
		err      string   // for the file as a whole
	}{
		{"no END", "BEGIN:VCARD\nEMAIL:a@example.com\n", []string{"a@example.com: the file ends before END:VCARD"}, ""},
		{"BEGIN before END", "BEGIN:VCARD\nEMAIL:a@example.com\nBEGIN:VCARD\nEMAIL:b@example.com\nEND:VCARD\n",
			[]string{"a@example.com: no END:VCARD before the next BEGIN:VCARD on line 3", "b@example.com: "}, ""},
		{"malformed line", "BEGIN:VCARD\nEMAIL:a@example.com\nthis is no property\nEND:VCARD\n",
			[]string{`a@example.com: line 3: "this is no property" is not a vCard property (no colon)`}, ""},
		{"bad name", "BEGIN:VCARD\nEMAIL:a@example.com\nNO TE:x\nEND:VCARD\n",
			[]string{`a@example.com: line 3: "NO TE" is not a vCard property name`}, ""},
		{"text outside a card", "BEGIN:VCARD\nEND:VCARD\nhello\n", nil, `line 3: "hello" is outside of any BEGIN:VCARD ... END:VCARD`},
		{"blank lines and case", "\n\nbegin:vcard\r\nemail:a@example.com\r\n\r\nend:vcard\r\n\n", []string{"a@example.com: "}, ""},
		{"unindented 2.1 base64", "BEGIN:VCARD\nEMAIL:a@example.com\nPHOTO;ENCODING=BASE64:/9j/4AAQ\nSkZJRg==\n\nEND:VCARD\n", []string{"a@example.com: "}, ""},
		{"unknown version", "BEGIN:VCARD\nVERSION:5.0\nEMAIL:a@example.com\nEND:VCARD\n", []string{`a@example.com: VERSION "5.0" is not 2.1, 3.0 or 4.0`}, ""},
		{"unknown encoding", "BEGIN:VCARD\nEMAIL:a@example.com\nNOTE;ENCODING=UUENCODE:x\nEND:VCARD\n",
			[]string{`a@example.com: NOTE: ENCODING=UUENCODE is not supported`}, ""},
		{"bad base64 text", "BEGIN:VCARD\nEMAIL:a@example.com\nNOTE;ENCODING=b:!!\nEND:VCARD\n",
			[]string{`a@example.com: NOTE: base64: illegal base64 data at input byte 0`}, ""},
		{"invalid UTF-8", "BEGIN:VCARD\nEMAIL:a@example.com\nFN:M\xfcller\nEND:VCARD\n",
			[]string{`a@example.com: FN: not valid UTF-8 (if it is Windows-1252 or ISO-8859-1, a CHARSET parameter says so)`}, ""},
		{"latin-1", "BEGIN:VCARD\nEMAIL;CHARSET=ISO-8859-1:m\xfcller@example.com\nEND:VCARD\n", []string{"müller@example.com: "}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := readCards(bufio.NewReader(strings.NewReader(tt.in)), func(c rawCard) {
				d := cardDraft("t.vcf", c)
				got = append(got, d.Email+": "+strings.Join(d.problems, "; "))
			})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.cards) {
				t.Errorf("cards\n got %q\nwant %q", got, tt.cards)
			}
		})
	}
}

func TestImportPropertyValues(t *testing.T) {
	tests := []struct {
		line       string
		text       string
		components []string
	}{
		{`NOTE:a\,b\;c\\d\ne\Nf\:g`, "a,b;c\\d\ne\nf:g", nil},
		{`NOTE:C:\temp\x`, `C:\temp\x`, nil},
		{`N:Family\; Jr.;Given\, the 1st;;;`, "", []string{"Family; Jr.", "Given, the 1st", "", "", ""}},
		{`N:Back\\;slash`, "", []string{`Back\`, "slash"}},
		{`item1.TEL;type="voice,cell";x-q="a:b":+1`, "+1", nil},
		{"NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:=C3=BC=\r\nber", "über", nil},
		{"NOTE;ENCODING=b:aGVsbG8=", "hello", nil},
		{"NOTE;CHARSET=windows-1252:\x80\x93", "€“", nil},
	}
	for _, tt := range tests {
		p, err := parseProperty(tt.line)
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if tt.components != nil {
			parts, err := p.components()
			if err != nil || !slices.Equal(parts, tt.components) {
				t.Errorf("%q: components %q, %v; want %q", tt.line, parts, err, tt.components)
			}
			continue
		}
		if got, err := p.text(); err != nil || got != tt.text {
			t.Errorf("%q: text %q, %v; want %q", tt.line, got, err, tt.text)
		}
	}
	p, _ := parseProperty(`item1.TEL;type="voice,cell";x-q="a:b":+1`)
	if p.group != "item1" || !slices.Equal(p.params.Types(), []string{"voice", "cell"}) || p.params.Get("X-Q") != "a:b" {
		t.Errorf("params of a quoted list: %+v", p)
	}
	p, _ = parseProperty("TEL;WORK;FAX:+49 30")
	if !slices.Equal(p.params.Types(), []string{"work", "fax"}) || p.value != "+49 30" {
		t.Errorf("vCard 2.1 bare parameters: %+v", p)
	}
}

func TestImportPhoneTypes(t *testing.T) {
	tests := []struct{ line, want string }{
		{"TEL;TYPE=CELL:1", "mobile"},
		{"TEL;TYPE=WORK,FAX:1", "fax"},
		{"TEL;TYPE=VOICE,HOME:1", "home"},
		{"TEL;TYPE=pref;TYPE=voice:1", ""},
		{"TEL;TYPE=main:1", "main"},
		{"TEL;TYPE=satellite:1", "satellite"},
		{"TEL;TYPE=x-custom:1", ""},
	}
	for _, tt := range tests {
		p, _ := parseProperty(tt.line)
		m := &cardMapper{labels: map[string]string{}}
		if got := m.phoneType(p); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.line, got, tt.want)
		}
	}
}
