package boltstate

import (
	"context"
	"fmt"

	"github.com/connect-sync/connect-sync/internal/state"
)

// bucketImports is the ledger of `connect-sync import`:
//
//	imports    record fingerprint → JSON Import
//
// A fingerprint stands for a record's content, so an import run again
// recognises the records an earlier run created, those without an email
// included. The bucket is created with the workspace's others, so a state
// file from before imports existed gains it on its first read-write open;
// a read-only open of such a file finds no bucket and so no imports.
var bucketImports = []byte("imports")

// ImportedContact returns what the state file knows of the record with the
// fingerprint, and whether it knows anything.
func (w *Workspace) ImportedContact(_ context.Context, fingerprint string) (state.Import, bool, error) {
	var imp state.Import
	found := false
	err := w.view(func(ws space) error {
		b := ws.Bucket(bucketImports)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(fingerprint))
		if v == nil {
			return nil
		}
		found = true
		return getJSON(b, []byte(fingerprint), &imp)
	})
	return imp, found, err
}

// BeginImports marks the records as pending before their creates are sent,
// in one transaction, so that after a crash at any later moment the next
// import knows to look for them in the workspace. A contact recorded for
// one of them is forgotten: it is being created again because that
// contact is gone.
func (w *Workspace) BeginImports(_ context.Context, fingerprints []string) error {
	return w.update(func(ws space) error {
		b := ws.Bucket(bucketImports)
		for _, fp := range fingerprints {
			if err := putJSON(b, []byte(fp), state.Import{}); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecordImport records that the record was created as the contact id.
func (w *Workspace) RecordImport(_ context.Context, fingerprint, contactID string) error {
	if contactID == "" {
		return fmt.Errorf("state: record import %s: empty contact id", fingerprint)
	}
	return w.update(func(ws space) error {
		return putJSON(ws.Bucket(bucketImports), []byte(fingerprint), state.Import{ContactID: contactID})
	})
}

// AbandonImport forgets a pending import whose create certainly did not
// happen (the API refused it, or it was never sent). A recorded contact is
// left alone.
func (w *Workspace) AbandonImport(_ context.Context, fingerprint string) error {
	return w.update(func(ws space) error {
		b := ws.Bucket(bucketImports)
		var imp state.Import
		if err := getJSON(b, []byte(fingerprint), &imp); err != nil {
			return err
		}
		if !imp.Pending() {
			return nil
		}
		return b.Delete([]byte(fingerprint))
	})
}
