// Package spreadsheet keeps the cells of a CSV file from being run as
// formulas by the spreadsheet that opens it (CSV injection, in OWASP's
// words): a cell that could start a formula gets a leading apostrophe,
// which spreadsheets take as the mark of a text cell. The csv sink
// writes its cells through Guard, the import report too, and the importer
// reads cells back through Unguard.
package spreadsheet

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// isFormula reports whether a spreadsheet could take the cell for a
// formula: it starts with a tab or a carriage return, or its first
// character that is not blank is one of = + - @ or their full-width forms
// ＝ ＋ － ＠ (U+FF1D, U+FF0B, U+FF0D, U+FF20), which East Asian input
// methods type and a spreadsheet may read as the ASCII ones. Blank is
// whitespace, Unicode spaces included, which import dialogs may trim. NUL
// bytes, which some readers drop, do not count.
func isFormula(cell string) bool {
	cell = strings.ReplaceAll(cell, "\x00", "")
	if cell == "" {
		return false
	}
	if cell[0] == '\t' || cell[0] == '\r' {
		return true
	}
	i := strings.IndexFunc(cell, func(r rune) bool { return !unicode.IsSpace(r) })
	if i < 0 {
		return false
	}
	r, _ := utf8.DecodeRuneInString(cell[i:])
	return strings.ContainsRune("=+-@＝＋－＠", r)
}

// Guard returns the cell as a file should hold it: without NUL bytes, and
// with an apostrophe before a cell that isFormula, or that is apostrophes
// before such a cell. A CSV reader gives the cell back with each CRLF read
// as LF (encoding/csv does); Guard decides on the cell as read, so that
// Unguard, given what the reader read, returns exactly what it would have
// read without the guard.
func Guard(cell string) string {
	cell = strings.ReplaceAll(cell, "\x00", "")
	if guarded(strings.ReplaceAll(cell, "\r\n", "\n")) {
		return "'" + cell
	}
	return cell
}

// Unguard undoes Guard on a cell as a CSV reader read it: it removes the
// apostrophe Guard put before the cell.
func Unguard(cell string) string {
	if rest, ok := strings.CutPrefix(cell, "'"); ok && guarded(rest) {
		return rest
	}
	return cell
}

// guarded reports whether Guard puts an apostrophe before the cell. Cells
// that begin with apostrophes get one more when the rest is a formula: a
// cell "'=1" is written "”=1", which Unguard reads back as "'=1" and a
// spreadsheet shows as "'=1".
func guarded(cell string) bool {
	return isFormula(strings.TrimLeft(cell, "'"))
}
