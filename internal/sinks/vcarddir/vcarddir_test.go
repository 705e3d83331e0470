package vcarddir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/atomicfile"
	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

const sourceURL = "https://connect.example.com"

var (
	ann = contact.Contact{ID: "1", FullName: "Ann Lee", Email: "ann@example.com"}
	bob = contact.Contact{ID: "2", FirstName: "Bob", Note: "likes; commas, too"}
)

func TestDeliver(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "cards")
	s := openSink(t, dir, "4.0")
	deliver(t, s, change(contact.Created, ann), change(contact.Created, bob))
	checkFiles(t, dir, "4.0", ann, bob)
	checkMode(t, dir, 0o700|os.ModeDir)
	checkMode(t, filepath.Join(dir, "1.vcf"), 0o600)

	ann2 := ann
	ann2.Email = "ann@new.example.com"
	deliver(t, s, change(contact.Updated, ann2), change(contact.Deleted, bob))
	checkFiles(t, dir, "4.0", ann2)

	// Deleting a contact whose file is already gone succeeds.
	deliver(t, s, change(contact.Deleted, bob))
	checkFiles(t, dir, "4.0", ann2)
}

func TestRedelivery(t *testing.T) {
	dir := t.TempDir()
	s := openSink(t, dir, "")
	batch := []contact.Change{change(contact.Created, ann), change(contact.Created, bob)}
	deliver(t, s, batch...)
	before, err := os.Stat(filepath.Join(dir, "1.vcf"))
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, s, batch...)
	unmapped := ann
	unmapped.Raw = []byte(`{"id":"1","score":7}`)
	deliver(t, s, change(contact.Updated, unmapped))
	checkFiles(t, dir, "3.0", ann, bob)
	after, err := os.Stat(filepath.Join(dir, "1.vcf"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("an unchanged card was rewritten")
	}
}

func TestUnsafeIDs(t *testing.T) {
	ids := []string{"../escape", "a/b", ".hidden", "", "ünï", "a b", "x;y", strings.Repeat("a", 65), "NUL\x00"}
	parent := t.TempDir()
	dir := filepath.Join(parent, "cards")
	s := openSink(t, dir, "")
	var created, deleted []contact.Change
	var contacts []contact.Contact
	for _, id := range ids {
		c := contact.Contact{ID: id, Email: "x@example.com"}
		contacts = append(contacts, c)
		created = append(created, change(contact.Created, c))
		deleted = append(deleted, change(contact.Deleted, c))
	}
	deliver(t, s, created...)
	checkFiles(t, dir, "3.0", contacts...)
	hashed := regexp.MustCompile(`^x-[0-9a-f]{64}\.vcf$`)
	for name := range readDir(t, dir) {
		if !hashed.MatchString(name) {
			t.Errorf("file %q is not a hashed name", name)
		}
	}
	if entries := readDir(t, parent); len(entries) != 1 {
		t.Errorf("files outside the folder: %v", names(entries))
	}
	deliver(t, s, deleted...)
	checkFiles(t, dir, "3.0")
}

// A batch's cards are written several at a time, but the changes of one
// contact land in their order: its file ends with its last change.
func TestChangesOfAContactKeepTheirOrder(t *testing.T) {
	dir := t.TempDir()
	s := openSink(t, dir, "")
	var batch []contact.Change
	var last []contact.Contact
	const versions, contacts = 5, 41 // not a multiple of the lanes
	for v := range versions {
		for id := range contacts {
			c := contact.Contact{ID: strconv.Itoa(id + 1), FullName: fmt.Sprintf("Version %d", v)}
			switch {
			case v == 0:
				batch = append(batch, change(contact.Created, c))
			case v == versions-1 && id%10 == 0:
				batch = append(batch, change(contact.Deleted, c))
			default:
				batch = append(batch, change(contact.Updated, c))
			}
			if v == versions-1 && id%10 != 0 {
				last = append(last, c)
			}
		}
	}
	deliver(t, s, batch...)
	checkFiles(t, dir, "3.0", last...)
}

func TestFolderUnavailable(t *testing.T) {
	batch := []contact.Change{change(contact.Created, ann), change(contact.Deleted, bob), change(contact.Updated, ann)}
	// Root ignores permissions, so the folder is made unusable with a
	// regular file where a folder must be: that fails for every user.
	t.Run("cannot be created", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		writeFile(t, file, "not a folder")
		s := openSink(t, filepath.Join(file, "cards"), "")
		checkUnavailable(t, s.Deliver(t.Context(), batch))
	})
	t.Run("replaced after the first delivery", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cards")
		s := openSink(t, dir, "")
		deliver(t, s, change(contact.Created, bob))
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "not a folder")
		checkUnavailable(t, s.Deliver(t.Context(), batch))
	})
}

func TestOneContactFails(t *testing.T) {
	dir := t.TempDir()
	// A folder where bob's card belongs concerns bob alone.
	if err := os.MkdirAll(filepath.Join(dir, "2.vcf", "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	carl := contact.Contact{ID: "3", FullName: "Carl"}
	s := openSink(t, dir, "")
	for _, kind := range []contact.Kind{contact.Created, contact.Deleted} {
		errs := s.Deliver(t.Context(), []contact.Change{change(contact.Created, ann), change(kind, bob), change(contact.Created, carl)})
		if errs[0] != nil || errs[2] != nil {
			t.Fatalf("%s: other contacts failed: %v", kind, errs)
		}
		if errs[1] == nil || errors.Is(errs[1], sinks.ErrUnavailable) {
			t.Errorf("%s: bob's error = %v, want a per-change error", kind, errs[1])
		}
	}
	files := readDir(t, dir)
	delete(files, "2.vcf")
	if want := cards(t, "3.0", ann, carl); !maps.Equal(files, want) {
		t.Errorf("folder holds %v, want %v", names(files), names(want))
	}
}

func TestCancelled(t *testing.T) {
	dir := t.TempDir()
	s := openSink(t, dir, "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for i, err := range s.Deliver(ctx, []contact.Change{change(contact.Created, ann), change(contact.Created, bob)}) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("change %d: error %v, want context.Canceled", i, err)
		}
	}
	checkFiles(t, dir, "3.0")
}

func TestStaleTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, atomicfile.TempPrefix+"1.vcf-123"), "half a card")
	s := openSink(t, dir, "")
	deliver(t, s, change(contact.Created, bob))
	checkFiles(t, dir, "3.0", bob)
}

func TestCheck(t *testing.T) {
	parent := t.TempDir()
	file := filepath.Join(parent, "file")
	writeFile(t, file, "")
	tests := []struct {
		name, path string
		ok         bool
	}{
		{"existing folder", parent, true},
		{"missing folder", filepath.Join(parent, "a", "b"), true},
		{"a file", file, false},
		{"under a file", filepath.Join(file, "cards"), false},
	}
	for _, tt := range tests {
		err := openSink(t, tt.path, "").(*Sink).Check(t.Context())
		if (err == nil) != tt.ok {
			t.Errorf("%s: Check() = %v", tt.name, err)
		}
	}
	if got := readDir(t, parent); len(got) != 1 {
		t.Errorf("Check left files behind: %v", names(got))
	}
}

func openSink(t *testing.T, dir, version string) sinks.Sink {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Path = dir
	if version != "" {
		cfg.Version = version
	}
	s, err := cfg.Open(sinks.Env{Name: "cards", SourceURL: sourceURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.(*Sink).Close() })
	return s
}

func change(kind contact.Kind, c contact.Contact) contact.Change {
	return contact.Change{ID: string(kind) + "-" + c.ID, Kind: kind, Contact: c}
}

func deliver(t *testing.T, s sinks.Sink, batch ...contact.Change) {
	t.Helper()
	for i, err := range s.Deliver(t.Context(), batch) {
		if err != nil {
			t.Fatalf("change %d (%s %q): %v", i, batch[i].Kind, batch[i].Contact.ID, err)
		}
	}
}

func checkUnavailable(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if !errors.Is(err, sinks.ErrUnavailable) {
			t.Errorf("change %d: error %v, want one wrapping ErrUnavailable", i, err)
		}
	}
}

// checkFiles checks that dir holds exactly the cards of contacts, and so
// no temporary file.
func checkFiles(t *testing.T, dir, version string, contacts ...contact.Contact) {
	t.Helper()
	got, want := readDir(t, dir), cards(t, version, contacts...)
	for name, data := range want {
		if got[name] != data {
			t.Errorf("%s = %q, want %q", name, got[name], data)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected file %s", name)
		}
	}
}

func cards(t *testing.T, version string, contacts ...contact.Contact) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, c := range contacts {
		var b bytes.Buffer
		if err := card.Encode(&b, c, card.Options{Version: version, SourceURL: sourceURL}); err != nil {
			t.Fatal(err)
		}
		files[fileName(c.ID)] = b.String()
	}
	return files
}

// readDir maps the names of a folder's regular files to their contents;
// folders map to "".
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		files[e.Name()] = ""
		if e.Type().IsRegular() {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = string(data)
		}
	}
	return files
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func names(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// Contacts "a" and "A" get a card each, even where the folder ignores case.
func TestIDsDifferingInCase(t *testing.T) {
	dir := t.TempDir()
	s := openSink(t, dir, "")
	lower, upper := contact.Contact{ID: "a", FullName: "Lower"}, contact.Contact{ID: "A", FullName: "Upper"}
	deliver(t, s, change(contact.Created, lower), change(contact.Created, upper), change(contact.Created, ann))
	checkFiles(t, dir, "3.0", lower, upper, ann)
	if _, ok := readDir(t, dir)["1.vcf"]; !ok {
		t.Error("a numeric id lost its name")
	}
	deliver(t, s, change(contact.Deleted, upper))
	checkFiles(t, dir, "3.0", lower, ann)
}

// A card that an older version wrote under a suffixed id's legacy name
// goes once its contact changes, so that no contact has two cards; a card
// of another contact there (where the folder ignores case, "A.vcf" is
// "a.vcf") stays.
func TestLegacyCardRemoved(t *testing.T) {
	dir := t.TempDir()
	upper := contact.Contact{ID: "Ab", FullName: "Upper"}
	gone := contact.Contact{ID: "Cd", FullName: "Gone"}
	other := contact.Contact{ID: "Ef", FullName: "Other"}
	lower := contact.Contact{ID: "ef", FullName: "Lower"}
	legacy := func(c contact.Contact, as string) {
		t.Helper()
		var b bytes.Buffer
		if err := card.Encode(&b, c, card.Options{SourceURL: sourceURL}); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, as), b.String())
	}
	legacy(upper, "Ab.vcf")
	legacy(gone, "Cd.vcf")
	legacy(lower, "Ef.vcf") // contact ef's card, under the name Ef's had
	s := openSink(t, dir, "")
	upper.Email = "new@example.com"
	batch := []contact.Change{change(contact.Updated, upper), change(contact.Deleted, gone), change(contact.Created, other)}
	deliver(t, s, batch...)
	files := readDir(t, dir)
	want := cards(t, "3.0", upper, other)
	want["Ef.vcf"] = files["Ef.vcf"]
	if !maps.Equal(files, want) || want["Ef.vcf"] == "" {
		t.Errorf("folder holds %v, want %v", names(files), names(want))
	}
	deliver(t, s, batch...) // again, as after a crash
	if files := readDir(t, dir); !maps.Equal(files, want) {
		t.Errorf("after redelivery, folder holds %v, want %v", names(files), names(want))
	}
}
