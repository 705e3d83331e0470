package natsstate

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/connect-sync/connect-sync/internal/state"
)

// ImportedContact returns what the ledger knows of the record with the
// fingerprint, and whether it knows anything.
func (w *Workspace) ImportedContact(fingerprint string) (state.Import, bool, error) {
	var (
		imp   state.Import
		found bool
	)
	err := w.do("import ledger", func() error {
		var err error
		imp, found, err = w.imported(fingerprint)
		return err
	})
	return imp, found, err
}

func (w *Workspace) imported(fingerprint string) (state.Import, bool, error) {
	var imp state.Import
	values, err := w.get(importKey(fingerprint))
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
func (w *Workspace) BeginImports(fingerprints []string) error {
	return w.do("begin imports", func() error {
		b := w.batch(nil)
		for _, fp := range fingerprints {
			if err := b.add("import "+fp, putJSON(importKey(fp), state.Import{})); err != nil {
				return err
			}
		}
		return b.done()
	})
}

// RecordImport records that the record was created as the contact id.
func (w *Workspace) RecordImport(fingerprint, contactID string) error {
	return w.do("record import", func() error {
		if contactID == "" {
			return errors.New("empty contact id")
		}
		return w.set(putJSON(importKey(fingerprint), state.Import{ContactID: contactID}))
	})
}

// AbandonImport forgets a pending import whose create certainly did not
// happen. A recorded contact is left alone.
func (w *Workspace) AbandonImport(fingerprint string) error {
	return w.do("abandon import", func() error {
		imp, found, err := w.imported(fingerprint)
		if err != nil || !found || !imp.Pending() {
			return err
		}
		return w.set(del(importKey(fingerprint)))
	})
}
