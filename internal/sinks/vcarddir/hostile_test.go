package vcarddir

import (
	"cmp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
)

// TestHostileContacts delivers contacts made to escape the folder or break
// the cards, one run each, into a folder inside an otherwise empty parent.
// Every file must land in the folder under a name that is the id itself
// only when the id is a plain token, and hashed otherwise; every card must
// parse with go-vcard and name its contact; a photo that is not http or
// https must be left out. Deleting the contact must leave the folder empty.
func TestHostileContacts(t *testing.T) {
	mib := strings.Repeat("0123456789abcdef", 1<<16)
	tests := []struct {
		name  string
		c     contact.Contact
		file  string // the file's name; "" for a hashed one
		photo string // the PHOTO written, if any
	}{
		{"traversal id", contact.Contact{ID: "../../etc/passwd", FullName: "Ann"}, "", ""},
		{"traversal names", contact.Contact{ID: "1", FullName: "../../etc/passwd", FirstName: "../", LastName: "/"}, "1.vcf", ""},
		{"absolute id", contact.Contact{ID: "/etc/passwd"}, "", ""},
		{"dot dot", contact.Contact{ID: ".."}, "", ""},
		{"dot", contact.Contact{ID: "."}, "", ""},
		{"slash", contact.Contact{ID: "/"}, "", ""},
		{"backslashes", contact.Contact{ID: `..\..\x`}, "", ""},
		{"escaped traversal", contact.Contact{ID: "%2e%2e%2fx"}, "", ""},
		{"NUL in the id", contact.Contact{ID: "1\x00/../x", FullName: "Ann\x00"}, "", ""},
		{"control characters", contact.Contact{ID: "\x1b[2J\r\n", Note: "\x00\x07\x1b"}, "", ""},
		{"right-to-left override", contact.Contact{ID: "\u202egpj.exe", FullName: "\u202egpj.exe"}, "", ""},
		{"emoji", contact.Contact{ID: "🙂", FullName: "👩‍👩‍👧‍👦"}, "", ""},
		{"device name", contact.Contact{ID: "CON", FullName: "NUL"}, "CON.a3dbc4b644a9a2c5.vcf", ""},
		{"hidden", contact.Contact{ID: ".vcf"}, "", ""},
		{"temporary file prefix", contact.Contact{ID: ".connect-sync-tmp-1"}, "", ""},
		{"long id", contact.Contact{ID: strings.Repeat("a", 300)}, "", ""},
		{"1 MiB note", contact.Contact{ID: "2", Note: mib}, "2.vcf", ""},
		{"javascript: photo", contact.Contact{ID: "3", Photo: "javascript:alert(1)"}, "3.vcf", ""},
		{"file: photo", contact.Contact{ID: "4", Photo: "file:///etc/passwd"}, "4.vcf", ""},
		{"https photo", contact.Contact{ID: "5", Photo: "https://cdn.example.com/5.png"}, "5.vcf", "https://cdn.example.com/5.png"},
	}
	hashed := regexp.MustCompile(`^x-[0-9a-f]{64}\.vcf$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "cards")
			s := openSink(t, dir, "4.0")
			deliver(t, s, change(contact.Created, tt.c))
			if entries := readDir(t, parent); len(entries) != 1 {
				t.Fatalf("files outside the folder: %v", names(entries))
			}
			files := readDir(t, dir)
			if len(files) != 1 {
				t.Fatalf("folder holds %v, want one card", names(files))
			}
			for name, data := range files {
				if name != tt.file && (tt.file != "" || !hashed.MatchString(name)) {
					t.Errorf("file %q, want %q", name, cmp.Or(tt.file, "a hashed name"))
				}
				// Unfolded first: go-vcard joins folded lines in time
				// quadratic in their length, seconds for the 1 MiB note.
				c, err := vcard.NewDecoder(strings.NewReader(strings.ReplaceAll(data, "\r\n ", ""))).Decode()
				if err != nil {
					t.Fatalf("go-vcard: %v", err)
				}
				if c.Value(vcard.FieldUID) != card.UID(sourceURL, tt.c.ID) || strings.TrimSpace(c.Value(vcard.FieldFormattedName)) == "" {
					t.Errorf("card does not name its contact: %.300q", data)
				}
				if got := c.Value(vcard.FieldPhoto); got != tt.photo {
					t.Errorf("PHOTO = %q, want %q", got, tt.photo)
				}
			}
			deliver(t, s, change(contact.Deleted, tt.c))
			if files := readDir(t, dir); len(files) != 0 {
				t.Errorf("folder holds %v after the deletion", names(files))
			}
		})
	}
}

// A card file that is a symbolic link to a file outside the folder, planted
// by whoever else can write there, is replaced rather than written through,
// and a deletion removes the link, not what it points to.
func TestSymlinkNotFollowed(t *testing.T) {
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside.txt")
	writeFile(t, outside, "keep")
	dir := filepath.Join(parent, "cards")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, fileName(ann.ID))
	plant := func() {
		t.Helper()
		if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, link); err != nil {
			t.Fatal(err)
		}
	}
	s := openSink(t, dir, "")
	for _, kind := range []contact.Kind{contact.Created, contact.Deleted} {
		plant()
		deliver(t, s, change(kind, ann))
		if data, err := os.ReadFile(outside); err != nil || string(data) != "keep" {
			t.Fatalf("%s: the file outside holds %q (%v)", kind, data, err)
		}
	}
	checkFiles(t, dir, "3.0")
}
