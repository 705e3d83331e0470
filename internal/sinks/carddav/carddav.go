package carddav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/crashpoint"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/emersion/go-webdav"
)

// Sink writes each contact as a card in one address book.
type Sink struct {
	cfg    Config
	client *client
	memo   sinks.Memo
	logger *slog.Logger
	opts   card.Options
	// conflict counts resolved conflicts for the metrics.
	conflict func(resolution string)
	// checking makes create a no-op, for Check, which changes nothing.
	checking bool

	bookMu sync.Mutex
	book   *url.URL // the collection, found by the first delivery

	indexMu sync.Mutex
	index   index // the book's cards, listed when a contact has no memo
}

// Deliver writes the batch with up to Concurrency requests in flight.
// Once the server is unavailable as a whole (refused credentials, no
// connection), the changes not yet sent get that error too, unsent.
func (s *Sink) Deliver(ctx context.Context, batch []contact.Change) []error {
	errs := make([]error, len(batch))
	book, err := s.addressBook(ctx)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	var (
		stop atomic.Pointer[error]
		jobs = make(chan int)
		wg   sync.WaitGroup
	)
	// notSent is the error of a change not sent because the server failed
	// as a whole or the run was cancelled; nil if neither happened.
	notSent := func() error {
		if p := stop.Load(); p != nil {
			return fmt.Errorf("carddav: not sent: %w", *p)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("carddav: not sent: %w", err)
		}
		return nil
	}
	for range min(s.cfg.Concurrency, len(batch)) {
		wg.Go(func() {
			for i := range jobs {
				if errs[i] = notSent(); errs[i] != nil {
					continue
				}
				errs[i] = s.deliver(ctx, book, batch[i])
				crashpoint.Hit("mid-batch") // part of the batch written, none acknowledged
				if errors.Is(errs[i], sinks.ErrUnavailable) {
					stop.CompareAndSwap(nil, &errs[i])
				}
			}
		})
	}
	sent := 0
	for ; sent < len(batch) && notSent() == nil; sent++ {
		jobs <- sent
	}
	close(jobs)
	wg.Wait()
	for i := sent; i < len(batch); i++ {
		errs[i] = notSent()
	}
	return errs
}

// deliver makes one change on the server.
func (s *Sink) deliver(ctx context.Context, book *url.URL, ch contact.Change) error {
	id := ch.Contact.ID
	rec, err := s.recall(id)
	if err != nil {
		return err
	}
	if rec == nil {
		if rec, err = s.adopt(ctx, book, id); err != nil {
			return err
		}
	}
	if ch.Kind == contact.Deleted {
		return s.remove(ctx, id, rec)
	}
	var b bytes.Buffer
	if err := card.Encode(&b, ch.Contact, s.opts); err != nil {
		return fmt.Errorf("carddav: contact %s: %w: %w", id, sinks.ErrPermanent, err)
	}
	if rec == nil {
		rec = &record{Href: book.JoinPath(fileName(card.UID(s.opts.SourceURL, id))).Path}
	}
	return s.upload(ctx, id, rec, b.Bytes())
}

// fileName is a card's name in the collection: the UUID of its UID, which
// is safe in a URL and the same on every run.
func fileName(uid string) string {
	return strings.TrimPrefix(uid, "urn:uuid:") + ".vcf"
}

// Check finds the address book, without changing anything: a missing book
// that create_addressbook would create passes.
func (s *Sink) Check(ctx context.Context) error {
	probe := &Sink{cfg: s.cfg, client: s.client, logger: s.logger, conflict: s.conflict, checking: true}
	_, err := probe.addressBook(ctx)
	return err
}

// Close closes the idle connections.
func (s *Sink) Close() error {
	s.client.http.CloseIdleConnections()
	return nil
}

// Interface guards.
var (
	_ sinks.Config    = (*Config)(nil)
	_ sinks.Formatter = (*Config)(nil)
	_ sinks.Sink      = (*Sink)(nil)
	_ sinks.Checker   = (*Sink)(nil)
	_ io.Closer       = (*Sink)(nil)

	_ webdav.HTTPClient = (*client)(nil)
)
