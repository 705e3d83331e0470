package csv

import (
	"bufio"
	"bytes"
	"cmp"
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

// load reads the rows the file holds. A missing file holds none, as long as
// its folder exists.
func (s *Sink) load() (rows map[string]string, found bool, err error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Dir(s.path)); err != nil {
			return nil, false, unavailable("read", s.path, err)
		}
		return map[string]string{}, false, nil
	}
	if err != nil {
		return nil, false, unavailable("read", s.path, err)
	}
	rows, err = s.parse(data)
	return rows, true, err
}

// parse splits the file into records keyed by their id cell. Each record is
// kept as the bytes the file holds, not re-encoded from its cells, because
// encoding/csv reads a CRLF inside a quoted cell as LF: re-encoding would
// change the notes of contacts that did not change.
func (s *Sink) parse(data []byte) (map[string]string, error) {
	r := stdcsv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil || !slices.Equal(head, header()) {
		return nil, fmt.Errorf("csv: %s was not written by this version of connect-sync (unexpected header); "+
			"move it away and run `connect-sync reset --sink %s`, so that the next sync writes it anew with every contact: %w", s.path, s.name, sinks.ErrUnavailable)
	}
	rows := make(map[string]string)
	for start := r.InputOffset(); ; {
		record, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, unavailable("read", s.path, err)
		}
		end := r.InputOffset()
		rows[record[0]] = rawLine(data[start:end])
		start = end
	}
}

// rawLine returns a record's bytes with exactly one LF at the end. The
// reader counts blank lines it skipped as part of the next record, and a
// file saved by another program may end its lines with CRLF or its last
// line with nothing.
func rawLine(b []byte) string {
	b = bytes.TrimLeft(b, "\r\n")
	b = bytes.TrimSuffix(b, []byte("\r\n"))
	b = bytes.TrimSuffix(b, []byte("\n"))
	var line strings.Builder
	line.Grow(len(b) + 1)
	line.Write(b)
	line.WriteByte('\n')
	return line.String()
}

// write replaces the file with the header and the rows sorted by id,
// the first time removing the temporary copies a crash left before their
// rename.
func (s *Sink) write(rows map[string]string) error {
	if !s.swept {
		if err := atomicfile.RemoveStaleOf(s.path); err != nil {
			return unavailable("write", s.path, err)
		}
		s.swept = true
	}
	ids := slices.SortedFunc(maps.Keys(rows), compareIDs)
	err := atomicfile.Write(s.path, 0o600, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 256<<10) // the file is rewritten whole: few, large writes
		bw.WriteString(strings.Join(header(), ",") + "\n")
		for _, id := range ids {
			bw.WriteString(rows[id])
		}
		return bw.Flush() // bufio keeps the first write error for Flush
	})
	if err != nil {
		return unavailable("write", s.path, err)
	}
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
