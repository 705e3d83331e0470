package csv_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// TestHostileContacts writes contacts made to break the file, or the
// program that opens it, and reads the file back with encoding/csv: each
// cell holds what the API sent (CSV can carry any text), except a photo
// that is not an http or https URL, which is left out, and what the
// formula guard does: an apostrophe, NUL bytes removed. Deleting the contact then leaves the header alone,
// so the row was keyed the same when written and when read back. Nothing
// but the file appears in its folder.
func TestHostileContacts(t *testing.T) {
	mib := strings.Repeat("Ünïcödé 🙂 \"quoted\", line\n", 1<<20/32) // about 1 MiB
	tests := []struct {
		name string
		c    contact.Contact
		want map[string]string // the cells that are not empty
	}{
		{"path traversal", contact.Contact{ID: "../../etc/passwd", FirstName: "../x", LastName: "/etc/passwd", Note: `..\..\windows`},
			map[string]string{"id": "../../etc/passwd", "firstName": "../x", "lastName": "/etc/passwd", "note": `..\..\windows`}},
		{"NUL and control characters", contact.Contact{ID: "1\x00", FullName: "Ann\x00Lee", Note: "\x1b[31mred\x07\x7f\u0085", JobTitle: "\x00=1"},
			map[string]string{"id": "1", "fullName": "AnnLee", "note": "\x1b[31mred\x07\x7f\u0085", "jobTitle": "'=1"}},
		{"line breaks", contact.Contact{ID: "2", Note: "a\nb\rc", CompanyName: "\n=1"},
			map[string]string{"id": "2", "note": "a\nb\rc", "companyName": "'\n=1"}},
		{"CRLF in the id", contact.Contact{ID: "3\r\n4", Note: "typed\r\nin a browser"},
			// encoding/csv reads a CRLF inside a quoted cell as LF.
			map[string]string{"id": "3\n4", "note": "typed\nin a browser"}},
		{"right-to-left marks", contact.Contact{ID: "5", FullName: "\u202egpj.exe", Note: "\u200f=1+1", Email: "\u2066@example.com"},
			map[string]string{"id": "5", "fullName": "\u202egpj.exe", "note": "\u200f=1+1", "email": "\u2066@example.com"}},
		{"emoji", contact.Contact{ID: "6", FullName: "👩‍👩‍👧‍👦 🇩🇪", Note: strings.Repeat("🧑🏽‍💻", 60)},
			map[string]string{"id": "6", "fullName": "👩‍👩‍👧‍👦 🇩🇪", "note": strings.Repeat("🧑🏽‍💻", 60)}},
		{"1 MiB note", contact.Contact{ID: "7", Note: mib}, map[string]string{"id": "7", "note": mib}},
		{"invalid UTF-8", contact.Contact{ID: "8\xff", Note: "\xc3("}, map[string]string{"id": "8\xff", "note": "\xc3("}},
		{"formulas", contact.Contact{ID: "-9", FirstName: "=cmd|' /C calc'!A0", Note: "@SUM(1)", Email: "+1@example.com"},
			map[string]string{"id": "'-9", "firstName": "'=cmd|' /C calc'!A0", "note": "'@SUM(1)", "email": "'+1@example.com"}},
		{"javascript: photo", contact.Contact{ID: "10", Photo: "javascript:alert(1)"}, map[string]string{"id": "10"}},
		{"javascript: photo in capitals", contact.Contact{ID: "11", Photo: "JAVASCRIPT:alert(1)"}, map[string]string{"id": "11"}},
		{"file: photo", contact.Contact{ID: "12", Photo: "file:///etc/passwd"}, map[string]string{"id": "12"}},
		{"data: photo", contact.Contact{ID: "13", Photo: "data:text/html,<script>alert(1)</script>"}, map[string]string{"id": "13"}},
		{"http photo stays", contact.Contact{ID: "14", Photo: "http://cdn.example.com/a.png"},
			map[string]string{"id": "14", "photo": "http://cdn.example.com/a.png"}},
		{"https photo stays", contact.Contact{ID: "15", Photo: "https://cdn.example.com/a.png?q=1,2;3"},
			map[string]string{"id": "15", "photo": "https://cdn.example.com/a.png?q=1,2;3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "contacts.csv")
			deliver(t, openSink(t, path, true), change(contact.Created, tt.c))
			compareRecords(t, readGo(t, path), [][]string{wantHeader, row(tt.want)})

			deliver(t, openSink(t, path, true), change(contact.Deleted, tt.c))
			compareRecords(t, readGo(t, path), [][]string{wantHeader})
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
				t.Errorf("folder holds %v (%v), want the file alone", entries, err)
			}
		})
	}
}
