package carddav

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"

	"github.com/emersion/go-webdav"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
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
	pool     sinks.Pool

	bookMu sync.Mutex
	book   *url.URL // the collection, found by the first delivery

	indexMu sync.Mutex
	index   index // the book's cards, listed when a contact has no memo
}

// Deliver writes the batch with up to Concurrency requests in flight.
// Once the server is unavailable as a whole (refused credentials, no
// connection), the changes not yet sent get that error too, unsent;
// requests in flight finish.
func (s *Sink) Deliver(ctx context.Context, batch []contact.Change) []error {
	book, err := s.addressBook(ctx)
	if err != nil {
		return sinks.Fail(batch, err)
	}
	return s.pool.Deliver(ctx, batch, func(_ context.Context, ch contact.Change) error {
		return s.deliver(ctx, book, ch)
	})
}

// deliver makes one change on the server.
func (s *Sink) deliver(ctx context.Context, book *url.URL, ch contact.Change) error {
	id := ch.Contact.ID
	rec, err := s.recall(ctx, id)
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
	_ sinks.Config       = (*Config)(nil)
	_ sinks.Formatter    = (*Config)(nil)
	_ sinks.Exclusive    = (*Config)(nil)
	_ sinks.SecretHolder = (*Config)(nil)
	_ sinks.Sink         = (*Sink)(nil)
	_ sinks.Checker      = (*Sink)(nil)
	_ io.Closer          = (*Sink)(nil)

	_ webdav.HTTPClient = (*client)(nil)
)
