package vcarddir

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// fakeWant is a sinks.Want in memory.
type fakeWant struct {
	contacts map[string]contact.Contact
	queued   map[string]bool
}

func (w *fakeWant) IDs(context.Context) ([]string, error) {
	var ids []string
	for id := range w.contacts {
		if !w.queued[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func (w *fakeWant) Queued(_ context.Context, id string) (bool, error) { return w.queued[id], nil }

func (w *fakeWant) Contacts(_ context.Context, ids []string) ([]contact.Contact, error) {
	var list []contact.Contact
	for _, id := range ids {
		if c, ok := w.contacts[id]; ok {
			list = append(list, c)
		}
	}
	return list, nil
}

// folder is a vcard-dir sink's folder and its state between runs, run as
// the engine runs it: a sink opened for each run, audited, delivered to,
// sealed.
type folder struct {
	t         *testing.T
	dir       string
	want      *fakeWant
	seal      []byte
	auditRuns int
	residents *sinks.Residents // the service's, or nil for one-shot runs
}

func newFolder(t *testing.T, n int) *folder {
	t.Helper()
	return newFolderWith(t, n, nil)
}

// newFolderWith makes a folder of n cards whose runs keep residents.
func newFolderWith(t *testing.T, n int, residents *sinks.Residents) *folder {
	t.Helper()
	f := &folder{
		t: t, dir: filepath.Join(t.TempDir(), "cards"), auditRuns: DefaultAuditRuns, residents: residents,
		want: &fakeWant{contacts: map[string]contact.Contact{}, queued: map[string]bool{}},
	}
	for i := range n {
		c := person(i + 1)
		f.want.contacts[c.ID] = c
	}
	if d := f.run(); len(d.Missing) != n || len(d.Modified)+len(d.Extra) != 0 {
		t.Fatalf("first run: drift %v, want %d missing", count(d), n)
	}
	return f
}

func person(i int) contact.Contact {
	return contact.Contact{ID: fmt.Sprint(i), FullName: fmt.Sprintf("Person %d", i), Email: fmt.Sprintf("p%d@example.com", i)}
}

func (f *folder) open() *Sink {
	f.t.Helper()
	cfg := DefaultConfig()
	cfg.Path, cfg.AuditRuns = f.dir, f.auditRuns
	s, err := cfg.Open(sinks.Env{Name: "cards", SourceURL: sourceURL, Residents: f.residents})
	if err != nil {
		f.t.Fatal(err)
	}
	return s.(*Sink)
}

// run is one run: the audit, the repairs it asks for delivered, the seal
// kept. It returns the drift.
func (f *folder) run() sinks.Drift {
	f.t.Helper()
	s := f.open()
	defer s.Close()
	drift, err := s.Audit(f.t.Context(), f.want, f.seal, false)
	if err != nil {
		f.t.Fatal(err)
	}
	var repairs []contact.Change
	for _, id := range drift.Missing {
		repairs = append(repairs, change(contact.Created, f.want.contacts[id]))
	}
	for _, id := range drift.Modified {
		repairs = append(repairs, change(contact.Updated, f.want.contacts[id]))
	}
	for _, id := range drift.Extra {
		repairs = append(repairs, change(contact.Deleted, contact.Contact{ID: id}))
	}
	if len(repairs) > 0 {
		deliver(f.t, s, repairs...)
	}
	if f.seal, err = s.Seal(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
	return drift
}

// converges runs until the folder holds the source's cards again, and
// checks the first run found want, the second nothing.
func (f *folder) converges(want sinks.Drift) {
	f.t.Helper()
	if got := f.run(); !sameDrift(got, want) {
		f.t.Errorf("drift %+v, want %+v", got, want)
	}
	if got := f.run(); got.Len() != 0 {
		f.t.Errorf("after the repair: drift %+v", got)
	}
	f.holdsCards()
}

// holdsCards checks every card of want is in the folder as the sink
// writes it.
func (f *folder) holdsCards() {
	f.t.Helper()
	files := readDir(f.t, f.dir)
	for name, data := range cards(f.t, "3.0", slices.Collect(maps.Values(f.want.contacts))...) {
		if files[name] != data {
			f.t.Errorf("%s holds %.60q, want the card", name, files[name])
		}
	}
}

func (f *folder) path(id string) string { return filepath.Join(f.dir, fileName(id)) }

func (f *folder) sealed() seal {
	f.t.Helper()
	var s seal
	if err := json.Unmarshal(f.seal, &s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func sameDrift(a, b sinks.Drift) bool {
	return slices.Equal(a.Missing, b.Missing) && slices.Equal(a.Modified, b.Modified) && slices.Equal(a.Extra, b.Extra)
}

func count(d sinks.Drift) string {
	return fmt.Sprintf("%d missing, %d modified, %d extra", len(d.Missing), len(d.Modified), len(d.Extra))
}

// editInPlace changes a card's bytes in its own file, as an editor that
// keeps the file does.
func editInPlace(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The same length: only the bytes tell.
	if _, err := f.WriteAt([]byte(strings.Replace(string(data), "@example.com", "@exampel.com", 1)), 0); err != nil {
		t.Fatal(err)
	}
}

func TestAuditUntouchedFolder(t *testing.T) {
	f := newFolder(t, 20)
	for range 3 {
		if d := f.run(); d.Len() != 0 {
			t.Fatalf("drift %+v in a folder nobody touched", d)
		}
	}
	// Nor in full, nor with no seal.
	s := f.open()
	defer s.Close()
	for _, seal := range [][]byte{f.seal, nil} {
		for _, full := range []bool{false, true} {
			if d, err := s.Audit(t.Context(), f.want, seal, full); err != nil || d.Len() != 0 {
				t.Errorf("seal %v, full %v: drift %+v, %v", seal != nil, full, d, err)
			}
		}
	}
}

func TestAuditCardDeleted(t *testing.T) {
	f := newFolder(t, 20)
	if err := os.Remove(f.path("7")); err != nil {
		t.Fatal(err)
	}
	f.converges(sinks.Drift{Missing: []string{"7"}})
}

func TestAuditFolderDeleted(t *testing.T) {
	f := newFolder(t, 3)
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	f.converges(sinks.Drift{Missing: []string{"1", "2", "3"}})
}

// An edit keeps the file, and even its modification time: its ctime,
// which no program can set back, still tells.
func TestAuditCardEditedInPlace(t *testing.T) {
	f := newFolder(t, 20)
	info, err := os.Stat(f.path("5"))
	if err != nil {
		t.Fatal(err)
	}
	folderBefore := f.sealed().Folder
	editInPlace(t, f.path("5"))
	if err := os.Chtimes(f.path("5"), info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if now, err := statFolder(f.dir); err != nil || now != folderBefore {
		t.Fatalf("the edit moved the folder: the test shows nothing (%v)", err)
	}
	f.converges(sinks.Drift{Modified: []string{"5"}})
}

// A link at a card's name is replaced by the card; what it points to is
// never written.
func TestAuditCardReplacedBySymlink(t *testing.T) {
	f := newFolder(t, 5)
	outside := filepath.Join(t.TempDir(), "outside.vcf")
	writeFile(t, outside, "keep")
	if err := os.Remove(f.path("2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, f.path("2")); err != nil {
		t.Fatal(err)
	}
	f.converges(sinks.Drift{Modified: []string{"2"}})
	if data, err := os.ReadFile(outside); err != nil || string(data) != "keep" {
		t.Errorf("the file the link pointed to holds %q (%v)", data, err)
	}
}

// A card of the sink's for a contact the source no longer has goes, under
// its own name, its legacy one or a hashed one; a contact with changes
// queued is left to them.
func TestAuditStaleCards(t *testing.T) {
	f := newFolder(t, 5)
	stale := []contact.Contact{{ID: "77", FullName: "Gone"}, {ID: "Cd", FullName: "Gone Too"}, {ID: "a/b", FullName: "Hashed"}, {ID: "88", FullName: "Queued"}}
	for _, c := range stale {
		name := fileName(c.ID)
		if legacy, ok := legacyName(c.ID); ok {
			name = legacy
		}
		writeFile(t, filepath.Join(f.dir, name), cards(t, "3.0", c)[fileName(c.ID)])
	}
	f.want.queued["88"] = true
	f.converges(sinks.Drift{Extra: []string{"77", "Cd", "a/b"}})
	if _, err := os.Stat(f.path("88")); err != nil {
		t.Errorf("the card of a contact with changes queued: %v", err)
	}
}

// What the sink did not write stays, and is no drift: a card of another
// program, one of another source, a card of the sink's under a name it
// gives none, files that are no cards.
func TestAuditForeignFilesLeftAlone(t *testing.T) {
	f := newFolder(t, 5)
	other := cards(t, "3.0", person(99))["99.vcf"]
	foreign := map[string]string{
		"9999.vcf":                              "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:other-program\r\nFN:Someone\r\nEND:VCARD\r\n",
		"98.vcf":                                strings.ReplaceAll(other, "connect.example.com", "another.example.com"),
		"99 (copy).vcf":                         other,
		"notes.txt":                             "not a card",
		"97.vcf":                                "not a card either",
		"1.VCF":                                 other,
		".hidden.vcf":                           other,
		"x-short.vcf":                           other,
		"Readme.md":                             "",
		"96.vcf.swp":                            other,
		"99.ics":                                other,
		"x-" + strings.Repeat("0", 64) + ".vcf": other,
	}
	for name, data := range foreign {
		writeFile(t, filepath.Join(f.dir, name), data)
	}
	f.converges(sinks.Drift{})
	files := readDir(t, f.dir)
	for name, data := range foreign {
		if files[name] != data {
			t.Errorf("%s was touched", name)
		}
	}
}

// A card an older version left under the legacy name of a contact that
// has its card under the new one too is a second card: it goes.
func TestAuditLegacyDuplicate(t *testing.T) {
	f := newFolder(t, 2)
	upper := contact.Contact{ID: "Ab", FullName: "Upper"}
	f.want.contacts[upper.ID] = upper
	f.run()
	legacy, _ := legacyName(upper.ID)
	writeFile(t, filepath.Join(f.dir, legacy), cards(t, "3.0", upper)[fileName(upper.ID)])
	f.converges(sinks.Drift{Modified: []string{"Ab"}})
	if _, err := os.Lstat(filepath.Join(f.dir, legacy)); !os.IsNotExist(err) {
		t.Errorf("the legacy card stayed: %v", err)
	}
}

// The sweep looks at a slice of the cards each run, from where it
// stopped: an edit that no other look finds is found within audit_runs
// runs, and not all at once.
func TestSweepFindsEditWithinAuditRuns(t *testing.T) {
	const n = 2 * minSlice
	f := newFolder(t, n)
	f.auditRuns = 4 // a slice of minSlice: two runs go round
	cursor := f.sealed().Cursor
	// The card just before the cursor: the last the sweep comes to.
	ids, _ := f.want.IDs(t.Context())
	i, _ := slices.BinarySearch(ids, cursor)
	last := ids[(i+n-1)%n]
	editInPlace(t, f.path(last))
	if d := f.run(); d.Len() != 0 {
		t.Fatalf("first run: drift %+v, want none yet: the sweep looked at every card", d)
	}
	f.converges(sinks.Drift{Modified: []string{last}})
}

// A card whose status the seal trusts is still read once every
// compareRounds rounds: what a status cannot show (a file system without
// a ctime of its own, a clock set back) is found all the same.
func TestSweepComparesTrustedCards(t *testing.T) {
	f := newFolder(t, 5)
	editInPlace(t, f.path("3"))
	// As if the edit's ctime were older than what the seal checked.
	s := f.sealed()
	s.Checked = time.Now().Add(time.Hour).UnixNano()
	s.Written = nil
	var err error
	if f.seal, err = json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	for run := range compareRounds + 1 {
		if d := f.run(); d.Len() > 0 {
			if !sameDrift(d, sinks.Drift{Modified: []string{"3"}}) {
				t.Fatalf("drift %+v", d)
			}
			f.holdsCards()
			return
		}
		if run == 0 {
			// The card was trusted, not read: the test shows something.
			t.Log("not found at once, as it should not be for most ids")
		}
	}
	t.Fatalf("an edit the status hides was not found in %d runs", compareRounds+1)
}

// A sweep that goes round trusts what it found since the round began: a
// card whose status changed without its bytes (a chmod) is read until
// then, not in every run after.
func TestSweepRoundChecks(t *testing.T) {
	f := newFolder(t, 5)
	if err := os.Chmod(f.path("2"), 0o640); err != nil {
		t.Fatal(err)
	}
	info, err := os.Lstat(f.path("2"))
	if err != nil {
		t.Fatal(err)
	}
	ctime := ctimeOf(t, info)
	if d := f.run(); d.Len() != 0 {
		t.Fatalf("drift %+v", d)
	}
	if s := f.sealed(); s.trusts(ctime) {
		t.Fatal("the seal trusts a card changed since the round began")
	}
	// The round began after the chmod, by a clock a skew ahead of the
	// file system's: once it has gone round, the card is trusted.
	s := f.sealed()
	s.RoundStart = time.Now().Add(skew + time.Second).UnixNano()
	if f.seal, err = json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if d := f.run(); d.Len() != 0 {
			t.Fatalf("drift %+v", d)
		}
	}
	if s := f.sealed(); !s.trusts(ctime) || s.Round == 0 {
		t.Errorf("after a round, the seal (round %d) does not trust the card", s.Round)
	}
}

func ctimeOf(t *testing.T, info os.FileInfo) int64 {
	t.Helper()
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no ctime here")
	}
	return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)).UnixNano() //nolint:unconvert // int32 on some systems
}

// deliverRun is a run that delivers changes of the source, queued
// while it audits.
func (f *folder) deliverRun(changes ...contact.Change) {
	f.t.Helper()
	s := f.open()
	defer s.Close()
	for _, ch := range changes {
		f.want.queued[ch.Contact.ID] = true
	}
	if d, err := s.Audit(f.t.Context(), f.want, f.seal, false); err != nil || d.Len() != 0 {
		f.t.Fatalf("drift %+v, %v", d, err)
	}
	deliver(f.t, s, changes...)
	clear(f.want.queued)
	var err error
	if f.seal, err = s.Seal(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
}

// A folder moved back from a backup holds cards whose ctimes are those
// the sink gave them then: nothing the seal trusted of the folder it
// replaced is trusted of it.
func TestAuditFolderRestoredFromBackup(t *testing.T) {
	f := newFolder(t, 5)
	backup := f.dir + ".bak"
	if err := os.Rename(f.dir, backup); err != nil {
		t.Fatal(err)
	}
	f.converges(sinks.Drift{Missing: []string{"1", "2", "3", "4", "5"}})
	c := f.want.contacts["3"]
	c.Note = "changed since the backup"
	f.want.contacts["3"] = c
	f.deliverRun(change(contact.Updated, c))
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(backup, f.dir); err != nil {
		t.Fatal(err)
	}
	// As if every card's ctime were older than what the seal checked of
	// the folder it replaced.
	s := f.sealed()
	s.Checked = time.Now().Add(time.Hour).UnixNano()
	var err error
	if f.seal, err = json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	f.converges(sinks.Drift{Modified: []string{"3"}})
}
