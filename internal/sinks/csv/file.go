package csv

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	stdcsv "encoding/csv"

	"github.com/connect-sync/connect-sync/internal/atomicfile"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// file is what the file held when a run began: its records sorted by
// id, over its bytes.
type file struct {
	found bool
	rows  []row
}

// row is one record of the file: its id cell, and its bytes as the file
// holds them (see parse).
type row struct {
	id   string
	line []byte
}

// maxFile is the largest file the sink reads, which it holds in memory
// while a run stages its changes: three times the 170 MB that 1,000,000
// contacts take, and a bound on what a file put in its place can cost,
// within the service unit's MemoryMax of 1 GiB.
const maxFile = 512 << 20

// load reads the file. A missing file holds no row, as long as its folder
// exists. Anything but a regular file at the path (a link, a FIFO, a
// folder) is refused, not followed (see atomicfile.Open).
func (s *Sink) load() (*file, error) {
	data, found, err := s.read()
	if err != nil || !found {
		return &file{}, err
	}
	rows, err := s.parse(data)
	if err != nil {
		return nil, err
	}
	return &file{found: true, rows: rows}, nil
}

// read returns the file's bytes, and whether there is a file.
func (s *Sink) read() ([]byte, bool, error) {
	sinks.WarnExposedFolder(s.logger, filepath.Dir(s.path))
	data, err := atomicfile.ReadFile(s.path, maxFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, err := os.Stat(filepath.Dir(s.path)); err != nil {
			return nil, false, unavailable("read", s.path, err)
		}
		return nil, false, nil
	case errors.Is(err, atomicfile.ErrNotRegular):
		return nil, false, fmt.Errorf("csv: %w: %w: the sink reads and replaces only a regular file, and never follows a link: "+
			"move it away, or set path to another file", sinks.ErrUnavailable, err)
	case errors.Is(err, atomicfile.ErrTooLarge):
		return nil, false, fmt.Errorf("csv: %w: %w (it holds the file in memory): if connect-sync wrote it, "+
			"use a vcard-dir, webhook or nats sink for this many contacts; if not, move it away and run "+
			"`connect-sync reset --sink %s`", sinks.ErrUnavailable, err, s.name)
	case err != nil:
		return nil, false, unavailable("read", s.path, err)
	}
	return data, true, nil
}

// parse splits the file into records sorted by their id cell, keeping the
// last of records with the same id. Each record is kept as the bytes the
// file holds, not re-encoded from its cells, because encoding/csv reads a
// CRLF inside a quoted cell as LF: re-encoding would change the notes of
// contacts that did not change. The file is written sorted, so sorting
// costs nothing unless someone edited it.
func (s *Sink) parse(data []byte) ([]row, error) {
	// A spreadsheet that saved the file may have put a byte order mark
	// before the header: the file is still this sink's, written anew
	// without it.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	r := stdcsv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil || !slices.Equal(head, header()) {
		return nil, fmt.Errorf("csv: %s was not written by this version of connect-sync (unexpected header); "+
			"move it away and run `connect-sync reset --sink %s`, so that the next sync writes it anew with every contact: %w", s.path, s.name, sinks.ErrUnavailable)
	}
	rows := make([]row, 0, bytes.Count(data, []byte("\n"))) // about one a line
	for start := r.InputOffset(); ; {
		record, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, unavailable("read", s.path, err)
		}
		end := r.InputOffset()
		// The id is copied: the cells of a record share one string, which
		// would stay in memory beside the record's bytes.
		rows = append(rows, row{id: strings.Clone(record[0]), line: trimLine(data[start:end])})
		start = end
	}
	byID := func(a, b row) int { return compareIDs(a.id, b.id) }
	if !slices.IsSortedFunc(rows, byID) {
		slices.SortStableFunc(rows, byID)
	}
	last := rows[:0]
	for i, r := range rows {
		if i+1 == len(rows) || rows[i+1].id != r.id {
			last = append(last, r)
		}
	}
	return last, nil
}

// trimLine returns a record's bytes without the newlines around it. The
// reader counts blank lines it skipped as part of the next record, and a
// file saved by another program may end its lines with CRLF or its last
// line with nothing; the file is written with one LF after each record.
func trimLine(b []byte) []byte {
	b = bytes.TrimLeft(b, "\r\n")
	b = bytes.TrimSuffix(b, []byte("\r\n"))
	return bytes.TrimSuffix(b, []byte("\n"))
}

// find returns the file's row with the id, if any.
func (f *file) find(id string) (row, bool) {
	i, ok := slices.BinarySearchFunc(f.rows, id, func(r row, id string) int { return compareIDs(r.id, id) })
	if !ok {
		return row{}, false
	}
	return f.rows[i], true
}

// differs reports whether the staged rows change the file: a row staged
// ("" for a deleted contact) that it does not hold.
func (f *file) differs(staged map[string]string) bool {
	for id, line := range staged {
		old, had := f.find(id)
		if line == "" && had || line != "" && (!had || line != string(old.line)) {
			return true
		}
	}
	return false
}

// write replaces the file with the header and its rows merged with the
// staged ones, sorted by id, the first time removing the temporary copies
// a crash left before their rename. Rows not staged are copied as they
// were.
func (s *Sink) write(f *file, staged map[string]string) error {
	if !s.swept {
		if err := atomicfile.RemoveStaleOf(s.path); err != nil {
			return unavailable("write", s.path, err)
		}
		s.swept = true
	}
	ids := slices.SortedFunc(maps.Keys(staged), compareIDs)
	sum := sha256.New() // for the seal: what an audit compares the file with
	err := atomicfile.Write(s.path, 0o600, func(w io.Writer) error {
		bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 256<<10) // the file is rewritten whole: few, large writes
		bw.WriteString(strings.Join(header(), ",") + "\n")
		put := func(id string) {
			if line := staged[id]; line != "" { // "" is a deleted contact's
				bw.WriteString(line)
				bw.WriteByte('\n')
			}
		}
		next := 0 // the first staged id not written yet
		for _, r := range f.rows {
			for ; next < len(ids) && compareIDs(ids[next], r.id) <= 0; next++ {
				put(ids[next])
			}
			if next > 0 && ids[next-1] == r.id {
				continue // replaced or deleted
			}
			bw.Write(r.line)
			bw.WriteByte('\n')
		}
		for _, id := range ids[next:] {
			put(id)
		}
		return bw.Flush() // bufio keeps the first write error for Flush
	})
	if err != nil {
		return unavailable("write", s.path, err)
	}
	sealed, err := s.stat()
	if err != nil {
		s.sealed = nil // the next audit reads the file whole
		return nil
	}
	sealed.Sum = sum.Sum(nil)
	s.sealed = &sealed
	return nil
}

// compareIDs orders numeric ids numerically, then the others byte by byte.
func compareIDs(a, b string) int {
	an, bn := isNumber(a), isNumber(b)
	if an != bn {
		if an {
			return -1
		}
		return 1
	}
	if an {
		a0, b0 := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if c := cmp.Compare(len(a0), len(b0)); c != 0 {
			return c
		}
		if c := strings.Compare(a0, b0); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

// isNumber reports whether s is made of ASCII digits only; such ids are
// compared by length first, so no number is too long to sort.
func isNumber(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

func unavailable(op, path string, err error) error {
	return fmt.Errorf("csv: %s %s: %w: %w", op, path, sinks.ErrUnavailable, err)
}
