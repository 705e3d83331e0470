package vcarddir

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// waitMarked waits until the watch has marked want, at most a few seconds:
// events come on their own goroutine.
func waitMarked(t *testing.T, w *watch, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := w.pending()
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watch marked %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A one-shot run watches the folder from its first write on, and the
// watch marks what others change in the folder, not what the sink itself
// writes and removes, nor temporary files.
func TestWatchMarksOthersChangesOnly(t *testing.T) {
	f := newFolder(t, 5)
	s := f.open()
	defer s.Close()
	if _, err := s.Audit(t.Context(), f.want, f.seal, false); err != nil {
		t.Fatal(err)
	}
	if s.watch != nil {
		t.Fatal("a one-shot run watches the folder before it writes")
	}
	c := person(1)
	c.Note = "changed"
	deliver(t, s, change(contact.Updated, c), change(contact.Deleted, person(2)), change(contact.Created, person(6)))
	if s.watch == nil {
		t.Fatal("a run that writes does not watch the folder")
	}
	editInPlace(t, f.path("3"))
	if err := os.Remove(f.path("4")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(f.dir, "new.vcf"), "")
	if err := os.Rename(filepath.Join(f.dir, "new.vcf"), f.path("5")); err != nil {
		t.Fatal(err)
	}
	// A marker the sink did not expect, last: once it is marked, every
	// event before it was seen.
	writeFile(t, filepath.Join(f.dir, "zz.vcf"), "")
	waitMarked(t, s.watch, "3.vcf", "4.vcf", "5.vcf", "new.vcf", "zz.vcf")
}

// Under the service the watch outlives the run: a card edited between
// two runs, which the sweep would come to only later, is found by the
// next run. In one-shot runs it is left to the sweep.
func TestWatchFindsEditBetweenRuns(t *testing.T) {
	for _, service := range []bool{true, false} {
		t.Run(map[bool]string{true: "service", false: "one-shot"}[service], func(t *testing.T) {
			var residents *sinks.Residents
			if service {
				residents = &sinks.Residents{}
				t.Cleanup(func() { residents.Close() })
			}
			f := newFolderWith(t, 2*minSlice, residents)
			f.auditRuns = 4 // a slice of minSlice: two runs go round
			ids, _ := f.want.IDs(t.Context())
			last := ids[len(ids)-1] // the sweep comes to it in the second run
			editInPlace(t, f.path(last))
			if service {
				kept, err := residents.Get("vcard-dir "+f.dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				waitMarked(t, kept.(*folderWatch).current, fileName(last))
			}
			want := sinks.Drift{}
			if service {
				want.Modified = []string{last}
			}
			if d := f.run(); !sameDrift(d, want) {
				t.Fatalf("drift %+v, want %+v", d, want)
			}
			if service {
				if d := f.run(); d.Len() != 0 {
					t.Errorf("after the repair: drift %+v", d)
				}
				f.holdsCards()
			}
		})
	}
}

// A card edited while the sink writes others has a ctime within the span
// of the sink's writes, which the seal trusts: the watch's mark, kept in
// the seal, has it read by the next run, a one-shot one too.
func TestWatchEditDuringDelivery(t *testing.T) {
	f := newFolder(t, 2*minSlice)
	f.auditRuns = 4
	ids, _ := f.want.IDs(t.Context())
	edited := ids[len(ids)-1] // the sweep comes to it in the second run
	s := f.open()
	defer s.Close()
	if _, err := s.Audit(t.Context(), f.want, f.seal, false); err != nil {
		t.Fatal(err)
	}
	write := func(id string) {
		c := f.want.contacts[id]
		c.Note = "changed"
		f.want.contacts[id] = c
		deliver(t, s, change(contact.Updated, c))
		time.Sleep(20 * time.Millisecond) // a tick of the file system's clock
	}
	write(ids[0])
	editInPlace(t, f.path(edited))
	time.Sleep(20 * time.Millisecond)
	write(ids[1])
	waitMarked(t, s.watch, fileName(edited))
	var err error
	if f.seal, err = s.Seal(t.Context()); err != nil {
		t.Fatal(err)
	}
	sealed := f.sealed()
	info, err := os.Lstat(f.path(edited))
	if err != nil {
		t.Fatal(err)
	}
	if !sealed.trusts(ctimeOf(t, info)) {
		t.Fatal("the edit's ctime is not within the span of the writes: the test shows nothing")
	}
	if !slices.Equal(sealed.Dirty, []string{fileName(edited)}) {
		t.Fatalf("the seal's dirty names: %q", sealed.Dirty)
	}
	f.converges(sinks.Drift{Modified: []string{edited}})
}

// A watch that missed events (its folder gone, a full queue) makes the
// next audit whole.
func TestWatchLostMakesAuditWhole(t *testing.T) {
	f := newFolder(t, 3)
	s := f.open()
	defer s.Close()
	if _, err := s.Audit(t.Context(), f.want, f.seal, false); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, change(contact.Deleted, person(3)))
	s.watch.lose()
	sealed, err := s.Seal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var sl seal
	if err := json.Unmarshal(sealed, &sl); err != nil {
		t.Fatal(err)
	}
	if now, err := statFolder(f.dir); err != nil || sl.Folder == now {
		t.Errorf("the seal keeps the folder's stamp after the watch lost events: %+v (%v)", sl.Folder, err)
	}
}

// Too many names marked for the seal to keep make the next audit whole.
func TestWatchTooManyMarkedMakesAuditWhole(t *testing.T) {
	f := newFolder(t, 3)
	s := f.open()
	defer s.Close()
	if _, err := s.Audit(t.Context(), f.want, f.seal, false); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, change(contact.Deleted, person(3)))
	var names []string
	for i := range maxDirty + 1 {
		names = append(names, fileName(fmt.Sprint(1000+i)))
	}
	s.watch.mark(names)
	sealed, err := s.Seal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var sl seal
	if err := json.Unmarshal(sealed, &sl); err != nil {
		t.Fatal(err)
	}
	if now, err := statFolder(f.dir); err != nil || sl.Folder == now || len(sl.Dirty) > 0 {
		t.Errorf("the seal keeps the folder's stamp and %d names", len(sl.Dirty))
	}
}
