package csv

import (
	"io"
	"strings"
	"testing"
	"unicode"

	stdcsv "encoding/csv"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/spreadsheet"
)

// FuzzEncodeRow encodes a contact whose every column holds fuzzed text and
// reads the row back with encoding/csv: one record, each cell as the
// contact had it (once unguarded, NUL bytes aside, when the guard is on),
// the key equal to the id cell as read, and with the guard on no cell that
// starts a formula, after whitespace or not, unless it is a phone number.
// The seeds in testdata/fuzz/FuzzEncodeRow carry the hostile cases:
// formulas, quotes, line breaks, NUL, bidi marks, emoji, full-width signs.
func FuzzEncodeRow(f *testing.F) {
	f.Fuzz(func(t *testing.T, id, a, b, c, phone1, phone2, photo string, guard bool) {
		ct := contact.Contact{
			ID: id, Email: a, FirstName: b, LastName: a, FullName: c, JobTitle: a, CompanyName: b,
			Phones:      []contact.Phone{{Number: phone1}, {Number: phone2}},
			FacebookURL: a, InstagramURL: b, LinkedinURL: c, TwitterURL: c, Note: c, Photo: photo,
			LeadStatus:     &contact.LeadStatus{ID: b, Label: c, Type: a},
			LastActivityAt: b, CreatedAt: c,
		}
		key, line, err := encodeRow(ct, guard)
		if err != nil {
			t.Fatal(err)
		}
		r := stdcsv.NewReader(strings.NewReader(line))
		record, err := r.Read()
		if err != nil {
			t.Fatalf("row %q does not read back: %v", line, err)
		}
		if _, err := r.Read(); err != io.EOF {
			t.Fatalf("row %q reads back as more than one record: %v", line, err)
		}
		if len(record) != len(columns) {
			t.Fatalf("%d cells, want %d", len(record), len(columns))
		}
		for i, col := range columns {
			got, want := record[i], readBack(col.value(ct))
			if guard {
				if startsFormula(got) && (col.name != phoneColumn || !phoneList(got)) {
					t.Errorf("%s = %q starts a formula", col.name, got)
				}
				got, want = spreadsheet.Unguard(got), strings.ReplaceAll(want, "\x00", "")
			}
			if got != want {
				t.Errorf("%s = %q, want %q", col.name, got, want)
			}
		}
		if key != record[0] {
			t.Errorf("key %q, but the id cell reads back as %q", key, record[0])
		}
		if p := record[columnIndex("photo")]; p != "" && !strings.HasPrefix(strings.ToLower(p), "http") {
			t.Errorf("photo = %q, not an http or https URL", p)
		}
	})
}

// readBack is the cell encoding/csv reads for value: it turns each CRLF
// inside a quoted cell into LF, and that is all it changes.
func readBack(value string) string {
	return strings.ReplaceAll(value, "\r\n", "\n")
}

// startsFormula reports whether a spreadsheet could take the cell for a
// formula, said apart from the guard's code: the cell starts with a tab or
// CR, or its first character past whitespace (Unicode's included) is one
// of = + - @, ASCII or full-width.
func startsFormula(cell string) bool {
	if strings.HasPrefix(cell, "\t") || strings.HasPrefix(cell, "\r") {
		return true
	}
	rest := strings.TrimLeftFunc(cell, unicode.IsSpace)
	return rest != "" && strings.ContainsRune("=+-@\uff1d\uff0b\uff0d\uff20", []rune(rest)[0])
}

// phoneList reports whether the cell is the phone numbers the guard lets
// through on purpose: digits and the punctuation of phone numbers only,
// which cannot call a function or name a cell.
func phoneList(cell string) bool {
	for number := range strings.SplitSeq(cell, phoneSeparator) {
		if strings.Trim(number, "0123456789 +()-./") != "" {
			return false
		}
	}
	return true
}

func columnIndex(name string) int {
	for i, col := range columns {
		if col.name == name {
			return i
		}
	}
	panic("no column " + name)
}
