package carddav

import (
	"context"
	"encoding/json"
	"fmt"
)

// record is where a contact's card is on the server: the memo's value, in
// JSON so that a field can be added without a migration.
type record struct {
	// Href is the card's path on the server.
	Href string `json:"href"`
	// ETag is the entity tag of the card as the sink last wrote or adopted
	// it, quotes included, as If-Match wants it.
	ETag string `json:"etag"`
	// written says the record came from the memo, so a card that no longer
	// matches ETag was changed on the server: a conflict. A card adopted
	// from a listing, or found where a new one was to go, is the sink's own
	// card from before its state was lost.
	written bool
}

// recall returns the contact's record, nil when the memo has none. A value
// that cannot be read counts as none: the listing finds the card again.
func (s *Sink) recall(ctx context.Context, id string) (*record, error) {
	b, err := s.memo.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("carddav: memo of contact %s: %w", id, err)
	}
	if b == nil {
		return nil, nil
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil || rec.Href == "" {
		s.logger.Warn("unreadable memo; the card is looked up on the server", "contact", id, "error", err)
		return nil, nil
	}
	rec.written = true
	return &rec, nil
}

// remember records where the contact's card is now.
func (s *Sink) remember(ctx context.Context, id, href, etag string) error {
	b, err := json.Marshal(record{Href: href, ETag: etag})
	if err != nil {
		return fmt.Errorf("carddav: memo of contact %s: %w", id, err)
	}
	if err := s.memo.Put(ctx, id, b); err != nil {
		return fmt.Errorf("carddav: memo of contact %s: %w", id, err)
	}
	return nil
}

// forget drops the contact's record once its card is gone.
func (s *Sink) forget(ctx context.Context, id string) error {
	if err := s.memo.Delete(ctx, id); err != nil {
		return fmt.Errorf("carddav: memo of contact %s: %w", id, err)
	}
	return nil
}
