package spreadsheet

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"unicode"
)

func TestGuard(t *testing.T) {
	tests := []struct{ cell, want string }{
		{"=1+1", "'=1+1"},
		{"+SUM(A1)", "'+SUM(A1)"},
		{"-2+3", "'-2+3"},
		{"@cmd", "'@cmd"},
		{"\t=1", "'\t=1"},
		{"\tplain", "'\tplain"},
		{"\r=1", "'\r=1"},
		{"\rplain", "'\rplain"},
		{"\r\n=1", "'\r\n=1"},
		{"\r\nplain", "\r\nplain"}, // read as "\nplain": a line break, then text
		{"'\r\nplain", "'\r\nplain"},
		{"\r\r\nplain", "'\r\r\nplain"},
		{" =1", "' =1"},
		{"   @x", "'   @x"},
		{"\n=1", "'\n=1"},
		{"\n\n+1", "'\n\n+1"},
		{"\u00a0=1", "'\u00a0=1"}, // no-break space
		{"\u3000=1", "'\u3000=1"}, // ideographic space
		{"\u2003-1", "'\u2003-1"}, // em space
		{"＝1+1", "'＝1+1"},         // full-width equals
		{"＋1", "'＋1"},             // full-width plus
		{"－1", "'－1"},             // full-width minus
		{"＠x", "'＠x"},             // full-width at
		{" \u3000＝HYPERLINK(1)", "' \u3000＝HYPERLINK(1)"},
		{"\x00=1", "'=1"},
		{"=1\x00+1", "'=1+1"},
		{"a\x00b", "ab"},
		{"\x00\x00", ""},
		{"'=1", "''=1"},
		{"''@x", "'''@x"},
		{"' =1", "'' =1"},
		{"'plain", "'plain"},
		{"'", "'"},
		{"a=1+1", "a=1+1"},
		{"\nplain", "\nplain"},
		{"  plain", "  plain"},
		{"\u200b=1", "\u200b=1"}, // zero-width space is not White_Space
		{"Zoë", "Zoë"},
		{"", ""},
		{"   ", "   "},
	}
	for _, tt := range tests {
		got := Guard(tt.cell)
		if got != tt.want {
			t.Errorf("Guard(%q) = %q, want %q", tt.cell, got, tt.want)
		}
		if back, want := roundTrip(t, tt.cell), readBack(tt.cell); back != want {
			t.Errorf("%q reads back as %q, want %q", tt.cell, back, want)
		}
	}
}

// roundTrip writes the guarded cell to a CSV file, reads it back with
// encoding/csv and unguards it.
func roundTrip(t *testing.T, cell string) string {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write([]string{Guard(cell), "x"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	record, err := csv.NewReader(&b).Read()
	if err != nil || len(record) != 2 {
		t.Fatalf("%q reads back as %q, %v", b.String(), record, err)
	}
	if startsFormula(record[0]) {
		t.Errorf("%q, guarded, reads back as %q, a formula", cell, record[0])
	}
	return Unguard(record[0])
}

// readBack is what a CSV reader reads of the cell without the guard, NUL
// bytes aside: encoding/csv reads a CRLF as LF.
func readBack(cell string) string {
	return strings.ReplaceAll(strings.ReplaceAll(cell, "\x00", ""), "\r\n", "\n")
}

func TestUnguardLeavesOtherCells(t *testing.T) {
	for _, cell := range []string{"'plain", "'", "''", "' ", "'\nplain", "it's =1", "=1", "'Zoë"} {
		if got := Unguard(cell); got != cell {
			t.Errorf("Unguard(%q) = %q, want it as it is", cell, got)
		}
	}
}

// FuzzGuard checks the guard's two promises for any cell: what it writes
// holds no NUL and, read back by a CSV reader, starts no formula (the
// apostrophe in front, when one is needed, is what a spreadsheet reads
// first), and Unguard gives back exactly what the reader would have read
// without the guard.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{"=1", " \n＝1", "'=1", "\x00@", "\tx", "+49 30 123", "Zoë", "'", "\r\r\nx", "'\r\nx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cell string) {
		if strings.Contains(Guard(cell), "\x00") {
			t.Fatalf("Guard(%q) = %q", cell, Guard(cell))
		}
		if back, want := roundTrip(t, cell), readBack(cell); back != want {
			t.Fatalf("%q reads back as %q, want %q", cell, back, want)
		}
	})
}

// startsFormula is the invariant the guard keeps, said independently of
// it: a cell that starts with a tab or CR, or whose first character past
// whitespace is a formula character, ASCII or full-width.
func startsFormula(cell string) bool {
	if strings.HasPrefix(cell, "\t") || strings.HasPrefix(cell, "\r") {
		return true
	}
	rest := strings.TrimLeftFunc(cell, unicode.IsSpace)
	for _, c := range []string{"=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20"} {
		if strings.HasPrefix(rest, c) {
			return true
		}
	}
	return false
}
