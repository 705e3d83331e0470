package csv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/spreadsheet"
)

// seal is what the sink knows of the file it left: one stat tells whether
// anybody touched it since, and the hash of its bytes, whether a touch
// changed anything.
type seal struct {
	Found bool   `json:"found"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime"` // nanoseconds
	Inode uint64 `json:"inode"`
	Sum   []byte `json:"sum"` // SHA-256 of the file's bytes
}

// stat returns the seal of the file as it is now, without its Sum.
func (s *Sink) stat() (seal, error) {
	fi, err := os.Lstat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return seal{}, nil
	}
	if err != nil {
		return seal{}, unavailable("stat", s.path, err)
	}
	sl := seal{Found: true, Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		sl.Inode = st.Ino
	}
	return sl, nil
}

func (a seal) sameFile(b seal) bool {
	return a.Found == b.Found && a.Size == b.Size && a.MTime == b.MTime && a.Inode == b.Inode
}

// Audit compares the file with the contacts it should hold. A file whose
// size, time and inode are those the sink left (one stat) is trusted
// unless full; one whose bytes still hash to what the sink wrote is
// trusted too. Otherwise every row is compared with what the sink writes
// for the contact: a row missing or edited comes back, a row of a contact
// the source no longer has goes, and a missing file is written whole. A
// file with a header not of this sink is never taken for drift: it is
// refused, as the deliveries refuse it.
func (s *Sink) Audit(ctx context.Context, want sinks.Want, prev []byte, full bool) (sinks.Drift, error) {
	var (
		drift sinks.Drift
		last  *seal
	)
	if len(prev) > 0 {
		last = new(seal)
		if json.Unmarshal(prev, last) != nil {
			last = nil // unreadable: compared whole
		}
	}
	now, err := s.stat()
	if err != nil {
		return drift, err
	}
	if !full && last != nil && last.sameFile(now) {
		s.sealed = last
		return drift, nil
	}
	data, found, err := s.read()
	if err != nil {
		return drift, err
	}
	sum := sha256.Sum256(data)
	now.Sum = sum[:]
	s.sealed = &now
	if !full && last != nil && last.Found == found && bytes.Equal(last.Sum, now.Sum) {
		return drift, nil
	}
	f := &file{}
	if found {
		if f.rows, err = s.parse(data); err != nil {
			return drift, err
		}
		f.found = true
	}
	return s.compare(ctx, want, f)
}

// compare finds how the file's rows differ from the contacts'.
func (s *Sink) compare(ctx context.Context, want sinks.Want, f *file) (sinks.Drift, error) {
	var drift sinks.Drift
	ids, err := want.IDs(ctx)
	if err != nil {
		return drift, err
	}
	wanted := make(map[string]bool, len(ids))
	for page := range slices.Chunk(ids, 1000) {
		contacts, err := want.Contacts(ctx, page)
		if err != nil {
			return drift, err
		}
		for _, c := range contacts {
			key, line, err := encodeRow(c, s.guard)
			if err != nil {
				return drift, err
			}
			wanted[key] = true
			switch r, ok := f.find(key); {
			case !ok:
				drift.Missing = append(drift.Missing, c.ID)
			case string(r.line) != strings.TrimSuffix(line, "\n"):
				drift.Modified = append(drift.Modified, c.ID)
			}
		}
	}
	for _, r := range f.rows {
		if wanted[r.id] {
			continue
		}
		id := r.id
		if s.guard {
			id = spreadsheet.Unguard(id)
		}
		queued, err := want.Queued(ctx, id)
		if err != nil {
			return drift, err
		}
		if !queued {
			drift.Extra = append(drift.Extra, id)
		}
	}
	return drift, nil
}

// Seal describes the file as the run leaves it: what the audit found, or
// what the last write wrote.
func (s *Sink) Seal(context.Context) ([]byte, error) {
	if s.sealed == nil {
		return nil, nil
	}
	return json.Marshal(s.sealed)
}

// Interface guards.
var _ sinks.Auditor = (*Sink)(nil)
