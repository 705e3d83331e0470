package natsstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/connect-sync/connect-sync/internal/state"
)

// ImportedContact returns what the ledger knows of the record with the
// fingerprint, and whether it knows anything.
func (w *Workspace) ImportedContact(ctx context.Context, fingerprint string) (state.Import, bool, error) {
	var (
		imp   state.Import
		found bool
	)
	err := w.do(ctx, "import ledger", func(ctx context.Context) error {
		var err error
		imp, found, err = w.imported(ctx, fingerprint)
		return err
	})
	return imp, found, err
}

func (w *Workspace) imported(ctx context.Context, fingerprint string) (state.Import, bool, error) {
	var imp state.Import
	values, err := w.get(ctx, importKey(fingerprint))
	if err != nil || values[0] == nil {
		return imp, false, err
	}
	if err := json.Unmarshal(values[0], &imp); err != nil {
		return imp, false, fmt.Errorf("import %s: %w", fingerprint, err)
	}
	return imp, true, nil
}

// BeginImports marks the records as pending, in one write (chunked when
// big), before their creates are sent.
func (w *Workspace) BeginImports(ctx context.Context, fingerprints []string) error {
	return w.do(ctx, "begin imports", func(ctx context.Context) error {
		b := w.batch(nil)
		for _, fp := range fingerprints {
			if err := b.add(ctx, "import "+fp, putJSON(importKey(fp), state.Import{})); err != nil {
				return err
			}
		}
		return b.done(ctx)
	})
}

// RecordImport records that the record was created as the contact id.
func (w *Workspace) RecordImport(ctx context.Context, fingerprint, contactID string) error {
	return w.do(ctx, "record import", func(ctx context.Context) error {
		if contactID == "" {
			return errors.New("empty contact id")
		}
		return w.set(ctx, putJSON(importKey(fingerprint), state.Import{ContactID: contactID}))
	})
}

// AbandonImport forgets a pending import whose create certainly did not
// happen. A recorded contact is left alone.
func (w *Workspace) AbandonImport(ctx context.Context, fingerprint string) error {
	return w.do(ctx, "abandon import", func(ctx context.Context) error {
		imp, found, err := w.imported(ctx, fingerprint)
		if err != nil || !found || !imp.Pending() {
			return err
		}
		return w.set(ctx, del(importKey(fingerprint)))
	})
}
