package csv

import (
	"io"
	"strings"
	"testing"

	stdcsv "encoding/csv"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// FuzzEncodeRow encodes a contact whose every column holds fuzzed text and
// reads the row back with encoding/csv: one record, each cell as the
// contact had it (apostrophe added where the guard applies), the key equal
// to the id cell as read, and with the guard on no cell a spreadsheet would
// take for a formula. The seeds in testdata/fuzz/FuzzEncodeRow carry the
// hostile cases: formulas, quotes, line breaks, NUL, bidi marks, emoji.
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
			if want := readBack(col.value(ct), guard && looksLikeFormula(col.name, col.value(ct))); record[i] != want {
				t.Errorf("%s = %q, want %q", col.name, record[i], want)
			}
			if guard && isFormula(col.name, record[i]) {
				t.Errorf("%s = %q starts a formula", col.name, record[i])
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
func readBack(value string, guarded bool) string {
	if guarded {
		value = "'" + value
	}
	return strings.ReplaceAll(value, "\r\n", "\n")
}

// isFormula reports whether a spreadsheet would take the cell for a formula
// (OWASP's list of leading characters), except for the phone numbers the
// guard lets through on purpose: digits and punctuation only.
func isFormula(column, cell string) bool {
	if cell == "" || !strings.ContainsAny(cell[:1], "=+-@\t\r") {
		return false
	}
	if column != phoneColumn {
		return true
	}
	for number := range strings.SplitSeq(cell, phoneSeparator) {
		if strings.Trim(number, "0123456789 +()-./") != "" {
			return true
		}
	}
	return false
}

func columnIndex(name string) int {
	for i, col := range columns {
		if col.name == name {
			return i
		}
	}
	panic("no column " + name)
}
