package importer

import (
	"context"
	"fmt"
	"strings"

	"github.com/connect-sync/connect-sync/internal/state"
)

// prior is what the ledger knows of a record from earlier imports.
type prior struct {
	state.Import
	known bool
}

// plan decides, for every valid record that repeats no earlier one,
// whether to create it (ToCreate) or skip it, from the ledger and the
// workspace:
//
//   - created by an earlier import, and that contact still exists: skipped.
//     (A contact deleted since is created again.)
//   - pending, an earlier import sent it and never learnt the outcome: if a
//     contact with its fingerprint exists, that import created it, so it
//     is skipped and the ledger completed; if not, it is created.
//   - its email is in the workspace and duplicates are skipped: skipped.
func (imp *Importer) plan(ctx context.Context, res *Result, opts Options) error {
	priors := map[*Record]prior{}
	ids, prints := map[string]bool{}, map[string]bool{}
	for _, rec := range res.Records {
		if rec.Outcome != "" {
			continue
		}
		p, known, err := imp.Ledger.ImportedContact(ctx, rec.fingerprint)
		if err != nil {
			return err
		}
		priors[rec] = prior{p, known}
		switch {
		case known && p.Pending():
			prints[rec.fingerprint] = true
		case known:
			ids[p.ContactID] = true
		}
	}
	ws, err := scanWorkspace(ctx, imp.API, ids, prints, opts.OnDuplicate == Skip)
	if err != nil {
		return fmt.Errorf("import: list the workspace's contacts: %w", err)
	}
	for _, rec := range res.Records {
		if p, ok := priors[rec]; ok {
			if err := imp.decide(ctx, rec, p, ws, opts.DryRun); err != nil {
				return err
			}
		}
	}
	return nil
}

func (imp *Importer) decide(ctx context.Context, rec *Record, p prior, ws *workspace, dryRun bool) error {
	rec.Outcome = ToCreate
	switch {
	case p.known && !p.Pending() && ws.present[p.ContactID]:
		rec.skip(p.ContactID, "imported by an earlier run as contact %s", p.ContactID)
	case p.known && p.Pending() && ws.printed[rec.fingerprint] != "":
		id := ws.printed[rec.fingerprint]
		rec.skip(id, "created as contact %s by an earlier run that did not learn it", id)
		if !dryRun {
			return imp.Ledger.RecordImport(ctx, rec.fingerprint, id)
		}
	case ws.emails[strings.ToLower(rec.Email)] != "":
		id := ws.emails[strings.ToLower(rec.Email)]
		rec.skip(id, "the workspace has this email, as contact %s", id)
	}
	return nil
}

func (rec *Record) skip(id, format string, args ...any) {
	rec.Outcome, rec.ContactID, rec.Reason = Skipped, id, fmt.Sprintf(format, args...)
}
