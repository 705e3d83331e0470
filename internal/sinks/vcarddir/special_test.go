package vcarddir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// plants are what whoever else can write to the folder may put at a
// card's name.
var plants = map[string]func(t *testing.T, path string){
	"link to /dev/zero": func(t *testing.T, path string) {
		if err := os.Symlink("/dev/zero", path); err != nil {
			t.Fatal(err)
		}
	},
	"FIFO": func(t *testing.T, path string) {
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
	},
	"folder": func(t *testing.T, path string) {
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
	},
}

// A link or a FIFO at a card's name is never read nor waited on: a write
// puts the card in its place, a deletion removes it, at once. A folder
// fails that change alone, naming it and saying what to do, and stays.
// The other contact of the batch is delivered either way.
func TestSpecialFileAtACardsName(t *testing.T) {
	for plant, put := range plants {
		for _, kind := range []contact.Kind{contact.Created, contact.Deleted} {
			t.Run(plant+"/"+string(kind), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, fileName(ann.ID))
				put(t, path)
				s := openSink(t, dir, "")
				errs := deliverWithin(t, s, change(kind, ann), change(contact.Created, bob))
				if errs[1] != nil {
					t.Errorf("the other contact failed: %v", errs[1])
				}
				if plant == "folder" {
					err := errs[0]
					if err == nil || errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), path+" is a folder") || !strings.Contains(err.Error(), "move it away") {
						t.Fatalf("error %v, want one for this change alone, naming %s and saying to move it away", err, path)
					}
					if info, err := os.Lstat(path); err != nil || !info.IsDir() {
						t.Errorf("the folder is gone: %v", err)
					}
					return
				}
				if errs[0] != nil {
					t.Fatalf("error %v", errs[0])
				}
				want := []contact.Contact{bob}
				if kind == contact.Created {
					want = append(want, ann)
				}
				checkFiles(t, dir, "3.0", want...)
			})
		}
	}
}

// What sits at a suffixed id's legacy name is read only if it is a regular
// file, and then no more than a card's worth; anything else stays.
func TestSpecialFileAtALegacyName(t *testing.T) {
	upper := contact.Contact{ID: "Ab", FullName: "Upper"}
	for plant, put := range plants {
		t.Run(plant, func(t *testing.T) {
			dir := t.TempDir()
			legacy := filepath.Join(dir, "Ab.vcf")
			put(t, legacy)
			s := openSink(t, dir, "")
			for i, err := range deliverWithin(t, s, change(contact.Created, upper)) {
				if err != nil {
					t.Fatalf("change %d: %v", i, err)
				}
			}
			if _, err := os.Lstat(legacy); err != nil {
				t.Errorf("what sat at the legacy name is gone: %v", err)
			}
		})
	}
	t.Run("endless", func(t *testing.T) {
		// The contact's UID, then a gigabyte of zeros without END:VCARD,
		// which is more than is read: not a card, and it stays.
		dir := t.TempDir()
		legacy := filepath.Join(dir, "Ab.vcf")
		writeFile(t, legacy, "BEGIN:VCARD\r\nUID:"+card.UID(sourceURL, upper.ID)+"\r\nNOTE:")
		if err := os.Truncate(legacy, 1<<30); err != nil { // sparse: no disk
			t.Fatal(err)
		}
		s := openSink(t, dir, "")
		for i, err := range deliverWithin(t, s, change(contact.Created, upper)) {
			if err != nil {
				t.Fatalf("change %d: %v", i, err)
			}
		}
		if _, err := os.Lstat(legacy); err != nil {
			t.Errorf("the large file is gone: %v", err)
		}
	})
	t.Run("huge folded line", func(t *testing.T) {
		// The contact's card, with a folded line of 16 MiB before its UID:
		// read in linear time, it is found to be the contact's, and goes.
		dir := t.TempDir()
		legacy := filepath.Join(dir, "Ab.vcf")
		note := "NOTE:" + strings.Repeat(strings.Repeat("x", 72)+"\r\n ", 16<<20/72) + "\r\n"
		writeFile(t, legacy, "BEGIN:VCARD\r\n"+note+"UID:"+card.UID(sourceURL, upper.ID)+"\r\nEND:VCARD\r\n")
		s := openSink(t, dir, "")
		for i, err := range deliverWithin(t, s, change(contact.Created, upper)) {
			if err != nil {
				t.Fatalf("change %d: %v", i, err)
			}
		}
		if _, err := os.Lstat(legacy); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the contact's card under its legacy name stays: %v", err)
		}
	})
}

// A folder that is a link to one is a fine setup: the link is followed.
func TestLinkedFolder(t *testing.T) {
	target := t.TempDir()
	link := filepath.Join(t.TempDir(), "cards")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	s := openSink(t, link, "")
	deliver(t, s, change(contact.Created, ann), change(contact.Created, bob))
	checkFiles(t, target, "3.0", ann, bob)
	deliver(t, s, change(contact.Deleted, ann))
	checkFiles(t, target, "3.0", bob)
	if err := s.(*Sink).Check(t.Context()); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// deliverWithin delivers the batch, failing the test if that takes more
// than a few seconds: what it was given blocks or never ends.
func deliverWithin(t *testing.T, s sinks.Sink, batch ...contact.Change) []error {
	t.Helper()
	done := make(chan []error, 1)
	go func() { done <- s.Deliver(t.Context(), batch) }()
	select {
	case errs := <-done:
		return errs
	case <-time.After(5 * time.Second):
		t.Fatal("Deliver did not return within 5 s")
		return nil
	}
}
