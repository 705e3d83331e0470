package importer

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// read reads and validates every record of the files. Records repeating an
// earlier one are skipped as duplicates: the same content always, the same
// email (in any case) unless duplicates are to be created. Errors that
// concern a file as a whole are gathered for all files, and then returned
// without a result, so that nothing is sent from a file only partly read.
func read(opts Options, v *validator) (*Result, error) {
	res := &Result{DryRun: opts.DryRun}
	seen := map[string]Location{}
	add := func(d *draft) {
		rec := &Record{Location: d.at}
		fields, problems := v.check(d)
		rec.Fields, rec.NotImported = fields, d.notImported
		if len(problems) > 0 {
			rec.Outcome, rec.Reason = Rejected, strings.Join(problems, "; ")
		} else {
			rec.fingerprint = fields.Fingerprint()
			markDuplicate(rec, seen, opts.OnDuplicate)
		}
		res.Records = append(res.Records, rec)
	}
	var errs []error
	for _, name := range opts.Files {
		warnings, err := readFile(name, opts.Mapping, add)
		res.Warnings = append(res.Warnings, warnings...)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return res, nil
}

// markDuplicate skips rec if an earlier record has its content, or its
// email when the policy skips duplicates.
func markDuplicate(rec *Record, seen map[string]Location, policy Policy) {
	keys := [][2]string{{"content", "print:" + rec.fingerprint}}
	if email := strings.ToLower(rec.Email); email != "" && policy == Skip {
		keys = append(keys, [2]string{"email", "email:" + email})
	}
	for _, k := range keys {
		if first, ok := seen[k[1]]; ok {
			rec.Outcome, rec.Duplicate = Skipped, true
			rec.Reason = fmt.Sprintf("duplicate of %s (same %s)", first, k[0])
			return
		}
	}
	for _, k := range keys {
		seen[k[1]] = rec.Location
	}
}

// readFile reads one file, calling add with each record. The error, if
// any, names the file and how it was read.
func readFile(name string, m Mapping, add func(*draft)) ([]string, error) {
	in, err := openInput(name)
	if err != nil {
		return nil, err
	}
	defer in.file.Close()
	var warnings []string
	switch in.format {
	case formatCSV:
		warnings, err = readCSV(name, in.r, m, add)
	case formatVCard:
		dropped := map[string]int{}
		cards := 0
		err = readCards(in.r, func(c rawCard) {
			d := cardDraft(name, c)
			add(d) // validation may note more that is not imported
			cards++
			for _, what := range d.notImported {
				dropped[what]++
			}
		})
		warnings = cardWarnings(name, cards, dropped)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	return warnings, nil
}

// cardWarnings sums up, for a vCard file, what its cards hold that will not
// be imported: one line rather than one per card, which the report gives.
func cardWarnings(name string, cards int, dropped map[string]int) []string {
	if cards == 0 {
		return []string{name + ": no vCards in the file"}
	}
	if len(dropped) == 0 {
		return nil
	}
	var parts []string
	for _, what := range slices.Sorted(maps.Keys(dropped)) {
		parts = append(parts, fmt.Sprintf("%s in %d of %d cards", what, dropped[what], cards))
	}
	return []string{fmt.Sprintf("%s: not imported, Connect's create has no field for them: %s (the --report file lists them per card)",
		name, strings.Join(parts, "; "))}
}
