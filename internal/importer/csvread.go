package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/connect-sync/connect-sync/internal/spreadsheet"
)

// column is what one CSV column feeds.
type column struct {
	header string
	set    func(d *draft, v string) // nil when the column is not imported
	warn   bool                     // not imported, and not by the user's choice
}

// readCSV reads a CSV file whose first row is a header, calling each with
// every row that is not blank. It returns warnings about the file as a
// whole; an error means the file cannot be read as a whole (bad quoting, a
// header mapping two columns to one field), and no record of it should be
// sent.
func readCSV(name string, r *bufio.Reader, m Mapping, each func(*draft)) ([]string, error) {
	cr := csv.NewReader(r)
	cr.Comma = sniffDelimiter(r)
	cr.FieldsPerRecord = -1 // short rows are common; long ones are checked per row
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("no header row: the file is empty")
	}
	if err != nil {
		return nil, err
	}
	cols, warnings, err := columns(name, header, m)
	if err != nil {
		return nil, err
	}
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return warnings, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if d := rowDraft(Location{name, line}, cols, row); d != nil {
			each(d)
		}
	}
}

// columns decides what each header cell feeds.
func columns(name string, header []string, m Mapping) ([]column, []string, error) {
	cols := make([]column, len(header))
	fedBy := map[string]string{}
	var unmapped []string
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			h = fmt.Sprintf("column %d", i+1)
		}
		cols[i].header = h
		f, chosen := m[h]
		if !chosen {
			var ok bool
			if f, ok = fieldNamed(h); !ok {
				cols[i].warn = true
				unmapped = append(unmapped, fmt.Sprintf("%q", h))
				continue
			}
		}
		if f == "" {
			continue
		}
		if other, ok := fedBy[f]; ok && f != "phoneNumbers" {
			return nil, nil, fmt.Errorf("header: columns %q and %q both map to %s", other, h, f)
		}
		fedBy[f] = h
		cols[i].set = setField[f]
	}
	var warnings []string
	if len(unmapped) > 0 {
		warnings = append(warnings, fmt.Sprintf("%s: columns not imported, no Connect field takes them (--map can assign one): %s",
			name, strings.Join(unmapped, ", ")))
	}
	return cols, warnings, nil
}

// rowDraft maps one row, or returns nil for a blank one.
func rowDraft(at Location, cols []column, row []string) *draft {
	d := &draft{at: at}
	blank := true
	for i, cell := range row {
		// The csv sink's formula guard put a "'" before a cell a
		// spreadsheet would take for a formula.
		v := strings.TrimSpace(spreadsheet.Unguard(cell))
		if v == "" {
			continue
		}
		blank = false
		switch {
		case i >= len(cols):
			d.problem("has %d cells, the header %d: a quoting problem?", len(row), len(cols))
			return d
		case cols[i].set != nil:
			cols[i].set(d, v)
		case cols[i].warn:
			d.drop(cols[i].header)
		}
	}
	if blank {
		return nil
	}
	return d
}

// sniffDelimiter picks the delimiter of the header line: a comma, unless
// semicolons (spreadsheets in many European locales) or tabs are more
// frequent.
func sniffDelimiter(r *bufio.Reader) rune {
	head, _ := r.Peek(64 << 10)
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	best, count := ',', bytes.Count(head, []byte(","))
	for _, d := range []rune{';', '\t'} {
		if n := bytes.Count(head, []byte(string(d))); n > count {
			best, count = d, n
		}
	}
	return best
}
