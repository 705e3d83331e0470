package importer

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/connect-sync/connect-sync/internal/spreadsheet"
	"github.com/connect-sync/connect-sync/internal/terminal"
)

// reportHeader is the header of the report file: one row per record, in
// the order of the input.
var reportHeader = []string{"file", "line", "email", "name", "outcome", "reason", "contact_id", "not_imported"}

// WriteReport writes the report file's CSV. Cells come from the input, so
// they go through the csv sink's formula guard.
func WriteReport(w io.Writer, res *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(reportHeader); err != nil {
		return err
	}
	for _, rec := range res.Records {
		row := []string{
			rec.File, strconv.Itoa(rec.Line), rec.Email, rec.Name(), string(rec.Outcome),
			rec.Reason, rec.ContactID, strings.Join(rec.NotImported, "; "),
		}
		for i, cell := range row {
			row[i] = spreadsheet.Guard(cell)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Print writes a line for each record that needs a look (rejected,
// failed, a duplicate within the input; in a dry run every record) and a
// summary. A line is escaped for the terminal: its names, file names and
// reasons come from the input and the API.
func Print(w io.Writer, res *Result) {
	for _, rec := range res.Records {
		if res.DryRun || rec.Outcome == Rejected || rec.Outcome == Failed || rec.Duplicate {
			fmt.Fprintln(w, terminal.Escape(rec.line()))
		}
	}
	if res.DryRun {
		fmt.Fprintf(w, "dry run: %d to create, %d to skip, %d rejected; nothing was sent\n",
			res.Count(ToCreate), res.Count(Skipped), res.Count(Rejected))
		return
	}
	fmt.Fprintf(w, "import: %d created, %d skipped, %d rejected, %d failed\n",
		res.Count(Created), res.Count(Skipped), res.Count(Rejected), res.Count(Failed))
}

// line is "outcome file:line: who: reason"; a rejected record's fields
// may be the problem, so the reason alone says what and where.
func (rec *Record) line() string {
	parts := []string{fmt.Sprintf("%-9s %s", rec.Outcome, rec.Location)}
	if who := rec.who(); who != "" && rec.Outcome != Rejected {
		parts = append(parts, who)
	}
	if rec.Reason != "" {
		parts = append(parts, rec.Reason)
	}
	return strings.Join(parts, ": ")
}

// who names the record's person for a reader: "Ada Lovelace <ada@...>".
func (rec *Record) who() string {
	switch name := rec.Name(); {
	case name != "" && rec.Email != "":
		return name + " <" + rec.Email + ">"
	case name != "":
		return name
	}
	return rec.Email
}
