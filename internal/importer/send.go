package importer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/connect-sync/connect-sync/internal/backoff"
	"github.com/connect-sync/connect-sync/internal/crashpoint"
	"github.com/connect-sync/connect-sync/internal/source"
)

// send creates the records planned for it, Concurrency at a time.
//
// The source client retries a create only when the API cannot have made
// the contact (429, 503, no connection made): after a 500 or a broken
// connection the contact may exist, and sending again could make a second
// one. Such an uncertain create is settled here instead: after a pause,
// the contact list is searched for the record's fingerprint; found, the
// record was created; not found, it is sent again. What is still uncertain
// after Rounds rounds stays pending in the ledger, and the next import
// settles it the same way.
func (imp *Importer) send(ctx context.Context, res *Result, opts Options) error {
	var todo []*Record
	for _, rec := range res.Records {
		if rec.Outcome == ToCreate {
			todo = append(todo, rec)
		}
	}
	imp.log().Info("import: sending", "creates", len(todo), "concurrency", opts.Concurrency)
	for round := 1; len(todo) > 0; round++ {
		uncertain, err := imp.sendRound(ctx, todo, opts.Concurrency)
		switch {
		case err != nil:
			return err
		case ctx.Err() != nil:
			return fmt.Errorf("import: interrupted: %w", ctx.Err())
		case len(uncertain) == 0 || round > opts.Rounds:
			return nil
		}
		wait := min(time.Second<<(round-1), 30*time.Second)
		imp.log().Warn("import: creates with an unknown outcome; looking for them in the workspace", "records", len(uncertain), "wait", wait)
		if err := imp.pause(ctx, wait); err != nil {
			return fmt.Errorf("import: interrupted: %w", err)
		}
		if todo, err = imp.settle(ctx, uncertain); err != nil {
			return err
		}
	}
	return nil
}

// sendRound sends the creates, first marking them pending in the ledger.
// It returns the records whose outcome is uncertain, and an error that
// stopped the round (the API key refused, the ledger not writable); the
// records it kept from being sent are failed.
func (imp *Importer) sendRound(ctx context.Context, recs []*Record, workers int) ([]*Record, error) {
	prints := make([]string, len(recs))
	for i, rec := range recs {
		prints[i] = rec.fingerprint
	}
	if err := imp.Ledger.BeginImports(ctx, prints); err != nil {
		for _, rec := range recs {
			rec.fail("not sent: %v", err)
		}
		return nil, fmt.Errorf("import: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu        sync.Mutex
		uncertain []*Record
		errs      []error
		wg        sync.WaitGroup
	)
	jobs := make(chan *Record)
	for range workers {
		wg.Go(func() {
			for rec := range jobs {
				unsure, err := imp.create(ctx, rec)
				mu.Lock()
				if unsure {
					uncertain = append(uncertain, rec)
				}
				if err != nil {
					errs = append(errs, err)
					cancel(err)
				}
				mu.Unlock()
			}
		})
	}
	for _, rec := range recs {
		jobs <- rec
	}
	close(jobs)
	wg.Wait()
	return uncertain, errors.Join(errs...)
}

// create sends one record's create and records the outcome. It reports
// whether the outcome is uncertain, and returns an error that must stop
// the import.
func (imp *Importer) create(ctx context.Context, rec *Record) (uncertain bool, err error) {
	if ctx.Err() != nil {
		rec.fail("not sent: %v", context.Cause(ctx))
		return false, imp.Ledger.AbandonImport(ctx, rec.fingerprint)
	}
	c, err := imp.API.CreateContact(ctx, rec.Body())
	if err == nil {
		crashpoint.Hit("import-after-create")
		rec.Outcome, rec.ContactID, rec.Reason = Created, c.ID, ""
		if err := imp.Ledger.RecordImport(ctx, rec.fingerprint, c.ID); err != nil {
			return false, fmt.Errorf("import: %s was created as contact %s, but the state file could not record it: %w", rec.Location, c.ID, err)
		}
		return false, nil
	}
	var apiErr *source.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest:
		rec.Outcome, rec.Reason = Rejected, apiErr.Error()
	case refused(err):
		rec.fail("%v", err)
	default:
		rec.fail("%v; the contact may or may not exist: the next import of this record finds out, and creates it only if it does not", err)
		return true, nil
	}
	if aerr := imp.Ledger.AbandonImport(ctx, rec.fingerprint); aerr != nil {
		return false, aerr
	}
	if errors.Is(err, source.ErrUnauthorized) {
		return false, err
	}
	return false, nil
}

// refused reports whether err proves that the API did not create the
// contact: it answered a 4xx or 503, or no connection was made.
func refused(err error) bool {
	var apiErr *source.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status < 500 || apiErr.Status == http.StatusServiceUnavailable
	}
	var op *net.OpError
	return errors.Is(err, source.ErrUnauthorized) || (errors.As(err, &op) && op.Op == "dial")
}

// settle searches the workspace for records whose create had an uncertain
// outcome. Those found were created; the others are returned, to be sent
// again.
func (imp *Importer) settle(ctx context.Context, recs []*Record) ([]*Record, error) {
	prints := map[string]bool{}
	for _, rec := range recs {
		prints[rec.fingerprint] = true
	}
	ws, err := scanWorkspace(ctx, imp.API, nil, prints, false)
	if err != nil {
		return nil, fmt.Errorf("import: list the workspace's contacts to settle uncertain creates: %w", err)
	}
	var again []*Record
	for _, rec := range recs {
		id := ws.printed[rec.fingerprint]
		if id == "" {
			again = append(again, rec)
			continue
		}
		rec.Outcome, rec.ContactID, rec.Reason = Created, id, "created although the API answered with an error"
		if err := imp.Ledger.RecordImport(ctx, rec.fingerprint, id); err != nil {
			return nil, fmt.Errorf("import: %s was created as contact %s, but the state file could not record it: %w", rec.Location, id, err)
		}
	}
	return again, nil
}

func (rec *Record) fail(format string, args ...any) {
	rec.Outcome, rec.Reason = Failed, fmt.Sprintf(format, args...)
}

// pause waits for d, or until ctx is done.
func (imp *Importer) pause(ctx context.Context, d time.Duration) error {
	if imp.wait != nil {
		return imp.wait(ctx, d)
	}
	return backoff.Sleep(ctx, d)
}
