package vcarddir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/connect-sync/connect-sync/internal/atomicfile"
	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// minSlice is the fewest cards the sampled sweep looks at in a run: a
// folder of up to that many is looked at whole every run, in well under
// a millisecond.
const minSlice = 100

// compareRounds is how many sweeps go by between two readings of each
// card whatever its status says: every card is read once in that many
// rounds, which finds what a status cannot show (an edit on a file system
// that keeps no ctime of its own, a clock set back).
const compareRounds = 20

// Audit compares the folder with the cards of want. What a run looks at
// depends on what changed since the seal:
//
//   - the folder itself (one stat): a card added, removed or renamed
//     changes its modification time. Unless it did, its names are not
//     read. If it did (or there is no seal, or full, or the watch lost
//     events), the audit is whole: every card of want is looked at, and
//     every other file named like the sink's cards is read, to find the
//     sink's own cards of contacts the source no longer has;
//   - else the sampled sweep: the cards of a slice of want (see
//     Config.AuditRuns), from where the last one stopped, and the cards
//     the watch saw changed.
//
// Looking at a card is one lstat: a card missing is missing, anything but
// a regular file at its name is modified, and a card whose status changed
// since the sink wrote it or an audit found it right (see seal.trusts),
// or whose turn to be read came (see compareRounds), is read and compared
// with what the sink writes for the contact, as full reads every card.
// Files the sink did not write are never in the drift.
func (s *Sink) Audit(ctx context.Context, want sinks.Want, prev []byte, full bool) (sinks.Drift, error) {
	s.prev, s.next = prev, nil
	start := time.Now().UnixNano()
	folder, err := statFolder(s.dir)
	if err != nil {
		return sinks.Drift{}, err
	}
	var (
		marked []string
		lost   bool
	)
	if !s.ownWatches {
		// The service's watch, kept from the runs before: what it saw
		// since is read now. A one-shot run's own watch starts only with
		// its first write (see prepare): adding a watch to a folder of
		// 100,000 cards costs the kernel 13 ms, most of a no-change run's
		// budget, and what it would see before the run writes, the ctimes
		// tell.
		marked, lost = s.watched(folder)
	}
	ids, err := want.IDs(ctx)
	if err != nil {
		return sinks.Drift{}, err
	}
	last := readSeal(prev)
	next := seal{Folder: folder, RoundStart: start}
	if last != nil {
		next.Cursor, next.Round, next.RoundStart = last.Cursor, last.Round, last.RoundStart
		// What the seal trusts is of the cards of this very folder: one
		// put in its place (a backup moved back) holds cards whose ctimes
		// say nothing of what the sink wrote.
		if last.Folder.Found && last.Folder.Inode == folder.Inode && last.Folder.Dev == folder.Dev {
			next.Checked, next.Written = last.Checked, last.Written
		}
	}
	a := &audit{sink: s, want: want, ids: ids, trust: &next, drift: map[string]string{}}
	switch {
	case !folder.Found:
		// The folder is gone, and every card with it.
		for _, id := range ids {
			a.drift[id] = missing
		}
	case full || last == nil || lost || last.Folder != folder:
		err = a.whole(ctx, full)
		next.check(start - skew.Nanoseconds())
	default:
		var whole bool
		if whole, err = a.marked(ctx, append(last.Dirty, marked...)); err == nil && whole {
			err = a.whole(ctx, false)
			next.check(start - skew.Nanoseconds())
		} else if err == nil {
			if err = a.sweep(start, &next, s.auditRuns); err == nil {
				err = a.compare(ctx)
			}
		}
	}
	if err != nil {
		s.watchAgain(marked)
		return sinks.Drift{}, err
	}
	drift := a.result()
	s.watchAgain(a.names())
	s.next = &next
	return drift, nil
}

// The kinds of drift, as audit.drift holds them.
const (
	missing  = "missing"
	modified = "modified"
	extra    = "extra"
	suspect  = "suspect" // to be read and compared
)

// audit is one run of Audit.
type audit struct {
	sink  *Sink
	want  sinks.Want
	ids   []string // want's, sorted
	trust *seal    // what needs no reading
	drift map[string]string
}

// has reports whether want holds the contact.
func (a *audit) has(id string) bool {
	_, ok := slices.BinarySearch(a.ids, id)
	return ok
}

// whole looks at every card of want, and at every other file named like
// the sink's cards; full reads every card.
func (a *audit) whole(ctx context.Context, full bool) error {
	f, err := os.Open(a.sink.dir)
	if err != nil {
		return fmt.Errorf("vcarddir: %w: %w", sinks.ErrUnavailable, err)
	}
	// Unsorted, unlike os.ReadDir: sorting 100,000 names costs more
	// than reading them.
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("vcarddir: %w: read %s: %w", sinks.ErrUnavailable, a.sink.dir, err)
	}
	cards := make(map[string]bool, len(a.ids))
	for _, id := range a.ids {
		cards[fileName(id)] = true
		if err := a.look(id, full); err != nil {
			return err
		}
	}
	for _, name := range names {
		if !cards[name] {
			if err := a.other(ctx, name); err != nil {
				return err
			}
		}
	}
	return a.compare(ctx)
}

// sweep looks at the next slice of want's cards after the seal's cursor,
// wrapping round, and moves the cursor on: a slice of a runs'th of them,
// or minSlice. A round gone through means every card was looked at since
// it began: their status changed before then is checked.
func (a *audit) sweep(start int64, next *seal, runs int) error {
	n := len(a.ids)
	if n == 0 {
		return nil
	}
	k := min(n, max(minSlice, (n+runs-1)/runs))
	i, found := slices.BinarySearch(a.ids, next.Cursor)
	if found {
		i++
	}
	for range k {
		if i == n {
			i = 0
			next.check(next.RoundStart - skew.Nanoseconds())
			next.Round++
			next.RoundStart = start
		}
		if err := a.look(a.ids[i], due(a.ids[i], next.Round)); err != nil {
			return err
		}
		i++
	}
	next.Cursor = a.ids[i-1]
	return nil
}

// due reports whether a card is to be read in the round whatever its
// status: in one round of compareRounds, by a hash of its id.
func due(id string, round int) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32()%compareRounds) == round%compareRounds
}

// marked looks at the cards at the names others changed, which the watch
// saw: the card of a contact want holds is read, and any other file
// named like the sink's cards is read as in a whole audit. It reports
// whether the names cannot tell which cards (a hashed name gone), so
// that only a whole audit can.
func (a *audit) marked(ctx context.Context, names []string) (bool, error) {
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		if strings.HasPrefix(name, atomicfile.TempPrefix) || !namedLikeCard(name) {
			continue
		}
		if id, ok := idOf(name); ok && a.has(id) && fileName(id) == name {
			if err := a.look(id, true); err != nil {
				return false, err
			}
			continue
		}
		if _, err := os.Lstat(filepath.Join(a.sink.dir, name)); errors.Is(err, fs.ErrNotExist) {
			if _, ok := idOf(name); !ok {
				return true, nil
			}
			continue // not a card want holds: nothing to find
		}
		if err := a.other(ctx, name); err != nil {
			return false, err
		}
	}
	return false, nil
}

// look looks at the card of a contact want holds: one lstat, and a read
// for a card whose status the seal does not trust, or when read.
func (a *audit) look(id string, read bool) error {
	var st unix.Stat_t
	path := filepath.Join(a.sink.dir, fileName(id))
	err := unix.Lstat(path, &st)
	switch {
	case errors.Is(err, unix.ENOENT):
		a.drift[id] = missing
	case err != nil:
		return fmt.Errorf("vcarddir: %w: stat %s: %w", sinks.ErrUnavailable, path, err)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		a.drift[id] = modified // replaced by the card, see holds
	case read || !a.trust.trusts(max(st.Ctim.Nano(), st.Mtim.Nano())):
		a.drift[id] = suspect
	}
	return nil
}

// compare reads the suspect cards and compares each with what the sink
// writes for its contact.
func (a *audit) compare(ctx context.Context) error {
	var ids []string
	for id, kind := range a.drift {
		if kind == suspect {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var buf bytes.Buffer
	for page := range slices.Chunk(ids, 1000) {
		contacts, err := a.want.Contacts(ctx, page)
		if err != nil {
			return err
		}
		for _, c := range contacts {
			buf.Reset()
			if err := card.Encode(&buf, c, a.sink.opts); err != nil {
				return err
			}
			if same, err := holds(filepath.Join(a.sink.dir, fileName(c.ID)), buf.Bytes()); err != nil || !same {
				a.drift[c.ID] = modified
			} else {
				delete(a.drift, c.ID)
			}
		}
	}
	// A contact gone from the source since IDs is none of the audit's.
	for id, kind := range a.drift {
		if kind == suspect {
			delete(a.drift, id)
		}
	}
	return nil
}

// other looks at a file that is not the card of a contact want holds
// under the name the sink gives it. Only a regular file named like the
// sink's cards that is the sink's card of a contact (its X-CONNECT-ID,
// and its UID as the sink derives it from the source and the id) under
// that contact's name, or the legacy one, is the sink's: extra when the
// source no longer has the contact, modified when it does (a second card
// under the legacy name, which the repair removes). Anything else was
// not written by the sink, and is left alone; so is the card of a
// contact with changes queued, which they will settle.
func (a *audit) other(ctx context.Context, name string) error {
	if strings.HasPrefix(name, atomicfile.TempPrefix) || !namedLikeCard(name) {
		return nil
	}
	if id, ok := idOf(name); ok {
		// Whatever is at the name of a contact with changes queued is
		// theirs to settle: not read, which after a back-fill, when every
		// contact is queued, saves reading every card.
		if queued, err := a.want.Queued(ctx, id); err != nil || queued {
			return err
		}
	}
	f, _, err := atomicfile.Open(filepath.Join(a.sink.dir, name))
	if err != nil {
		return nil // gone, not a regular file, or unreadable: not a card the sink wrote
	}
	id, err := card.Identify(f)
	f.Close()
	cid := id.ConnectID
	if err != nil || cid == "" || id.UID != card.UID(a.sink.opts.SourceURL, cid) {
		return nil
	}
	legacy, hasLegacy := legacyName(cid)
	own := strings.EqualFold(name, fileName(cid))
	if !own && (!hasLegacy || !strings.EqualFold(name, legacy)) {
		return nil
	}
	queued, err := a.want.Queued(ctx, cid)
	switch {
	case err != nil:
		return err
	case queued:
	case a.has(cid) && name == fileName(cid):
		return a.look(cid, true) // a marked hashed name
	case a.has(cid) && own:
		// Its own name in another case, in a folder that ignores case:
		// the card itself, which look finds under its name.
	case a.has(cid):
		a.drift[cid] = modified
	default:
		a.drift[cid] = extra
	}
	return nil
}

// result is the drift found, each list sorted.
func (a *audit) result() sinks.Drift {
	var d sinks.Drift
	for id, kind := range a.drift {
		switch kind {
		case missing:
			d.Missing = append(d.Missing, id)
		case modified:
			d.Modified = append(d.Modified, id)
		case extra:
			d.Extra = append(d.Extra, id)
		}
	}
	slices.Sort(d.Missing)
	slices.Sort(d.Modified)
	slices.Sort(d.Extra)
	return d
}

// names are the card names of the contacts that drifted.
func (a *audit) names() []string {
	var names []string
	for id := range a.drift {
		names = append(names, fileName(id))
	}
	return names
}

// Seal describes the folder as the run leaves it, for the next Audit:
// what the audit found, the span of the cards the run wrote, and the
// names the watch saw others change meanwhile (unless it missed some:
// then the next audit is whole, and the span is left out). The folder's own stamp is
// the one the audit found, unless the run added or removed cards itself:
// then a card that someone else added or removed while it ran is known
// only by the watch. Without an audit this run, or after one that
// failed, it is the seal the audit was given.
func (s *Sink) Seal(context.Context) ([]byte, error) {
	if s.next == nil {
		return s.prev, nil
	}
	next := *s.next
	s.mu.Lock()
	changed, written := s.changed, s.written
	s.mu.Unlock()
	if changed {
		folder, err := statFolder(s.dir)
		if err != nil {
			return nil, err
		}
		next.Folder = folder
	}
	dirty, lost := s.watchPending()
	if lost || len(dirty) > maxDirty {
		// Others' changes meanwhile may have gone unseen: the next audit
		// is whole, and reads the cards this run wrote, which an edit may
		// have met while it wrote them.
		next.Folder.MTime = 0
		return json.Marshal(next)
	}
	next.Dirty = dirty
	if written.To != 0 {
		next.wrote(written)
	}
	return json.Marshal(next)
}

// Interface guards.
var _ sinks.Auditor = (*Sink)(nil)
