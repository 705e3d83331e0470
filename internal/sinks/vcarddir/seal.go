package vcarddir

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

// seal is what the sink knows of the folder between runs (see Audit),
// kept in the state as JSON. It has no entry per card: a state with one
// for each of 100,000 cards would cost a write each, far too slow for a
// first sync. A card's own status change time (ctime) stands in for its
// fingerprint instead: every write, rename, chmod or link count change
// sets it to the file system's clock, and no program can set it back, as
// touch and cp -p do a modification time.
type seal struct {
	// Folder is the folder as the run left it: a card added, removed or
	// renamed there since changes its modification time.
	Folder stamp `json:"folder"`
	// Checked is a time (nanoseconds) before which every card's status
	// last changed as an audit found it right: a card whose ctime is
	// older, or within one of Written, needs no reading.
	Checked int64 `json:"checked"`
	// Written are the spans of ctimes of the cards the sink wrote since
	// Checked, one per run that wrote (see span).
	Written []span `json:"written,omitempty"`
	// Cursor is the contact id the sampled sweep stopped after, Round
	// counts the sweeps that went round every card, and RoundStart is
	// when the current one began (this machine's clock, nanoseconds).
	Cursor     string `json:"cursor,omitempty"`
	Round      int    `json:"round"`
	RoundStart int64  `json:"round_start"`
	// Dirty are the cards' names that something other than the sink
	// changed while it ran, as its watch saw: the next audit reads them.
	Dirty []string `json:"dirty,omitempty"`
}

// stamp is a folder's own status: one stat.
type stamp struct {
	Found bool   `json:"found"`
	MTime int64  `json:"mtime"` // nanoseconds
	CTime int64  `json:"ctime"`
	Inode uint64 `json:"inode"`
	Dev   uint64 `json:"dev"`
}

// span is the least and the greatest ctime of the cards one run wrote,
// nanoseconds on the file system's clock.
type span struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// maxSpans bounds the spans a seal keeps: once there are more, the
// oldest goes, and the cards it covered are read as they come in the
// sweep, which costs time but never misses one.
const maxSpans = 64

// maxDirty bounds the names a seal keeps for the next audit to read: with
// more, the next audit is whole instead, and the state keeps no long list.
const maxDirty = 1000

// skew is how far behind this machine's clock the file system's may be
// (a network share's, whose server sets the ctimes) when the sink takes
// a time of its own clock for one of the file system's: when a sweep
// began, when a whole audit did. The sink then claims less than it
// checked, never more.
const skew = time.Minute

// readSeal decodes what Seal returned; nil for none, or one it cannot
// read (an older form), which makes the audit look at everything.
func readSeal(data []byte) *seal {
	if len(data) == 0 {
		return nil
	}
	var s seal
	if json.Unmarshal(data, &s) != nil {
		return nil
	}
	return &s
}

// statFolder returns the folder's stamp; a missing folder is not found.
// The folder itself may be a link to one.
func statFolder(dir string) (stamp, error) {
	var st unix.Stat_t
	err := unix.Stat(dir, &st)
	switch {
	case errors.Is(err, unix.ENOENT):
		return stamp{}, nil
	case err != nil:
		return stamp{}, fmt.Errorf("vcarddir: %w: stat %s: %w", sinks.ErrUnavailable, dir, err)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return stamp{}, fmt.Errorf("vcarddir: %w: %s: %w", sinks.ErrUnavailable, dir, unix.ENOTDIR)
	}
	return stamp{Found: true, MTime: st.Mtim.Nano(), CTime: st.Ctim.Nano(), Inode: st.Ino, Dev: uint64(st.Dev)}, nil //nolint:unconvert // Dev is not uint64 everywhere
}

// trusts reports whether a card whose status last changed at ctime is
// as the sink wrote it or an audit found it: older than Checked, or
// within the span of a run that wrote it. A span's last instant is not
// trusted: the file system's clock may not have moved between the sink's
// last write and an edit just after it, and the few cards the sink wrote
// in that instant are read until a round of the sweep checks them.
func (s *seal) trusts(ctime int64) bool {
	if ctime < s.Checked {
		return true
	}
	for _, w := range s.Written {
		if ctime >= w.From && ctime < w.To {
			return true
		}
	}
	return false
}

// check records that every card whose status changed before t was found
// right: the spans before it are of no more use.
func (s *seal) check(t int64) {
	if t <= s.Checked {
		return
	}
	s.Checked = t
	s.Written = slices.DeleteFunc(s.Written, func(w span) bool { return w.To < t })
}

// wrote adds the span of a run's writes.
func (s *seal) wrote(w span) {
	s.Written = append(s.Written, w)
	if len(s.Written) > maxSpans {
		s.Written = slices.Delete(s.Written, 0, len(s.Written)-maxSpans)
	}
}
