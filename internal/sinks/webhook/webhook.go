// Package webhook is the webhook sink: each contact change is POSTed as a
// JSON event to one URL and signed as Standard Webhooks 1.0.0 specifies
// (https://www.standardwebhooks.com): webhook-id is the change's ID, the
// same on every retry; webhook-timestamp is the attempt's unix time; and
// webhook-signature is "v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body" under the key of the "whsec_" secret.
//
// With batch_size above 1, consecutive events travel together as one
// "contact.batch" event whose webhook-id is derived from theirs.
//
// A 2xx acknowledges a change. 408, 425, 429, 5xx, timeouts and connection
// errors are retried with exponential backoff and full jitter (or after the
// receiver's Retry-After); redirects are not followed. When a change has
// used up its retries, or the receiver answers 410 Gone, the rest of the
// batch is not sent, so that a dead receiver costs a run no more than the
// retries of the requests in flight.
package webhook

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Sink POSTs changes to one URL. It is safe for concurrent use; its HTTP
// connections are kept alive between Deliver calls until Close.
type Sink struct {
	url        string
	target     string // the URL as shown, without what may be a secret
	redact     *secret.Redactor
	workspace  string // named in every event
	sign       signer
	events     map[contact.Kind]bool
	headers    http.Header // sent with every request
	timeout    time.Duration
	maxAge     time.Duration
	batchSize  int
	maxRetries int
	client     *http.Client
	pool       sinks.Pool
	logger     *slog.Logger

	// Tests replace these so that backoff never waits and the clock can be
	// set.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

// Deliver sends the batch with up to concurrency requests at once and
// returns one error per change, in order:
//
//   - nil once the receiver answered 2xx, or when the events setting
//     leaves the change out;
//   - one wrapping sinks.ErrPermanent for a 4xx other than 401, 403, 404,
//     405, 408, 410, 425 and 429, and for a change that still fails
//     transiently after its retries when it was detected longer than
//     max_age ago;
//   - one wrapping sinks.ErrGone for a 410;
//   - one wrapping sinks.ErrUnavailable for a 3xx, 401, 403, 404 or 405
//     (a wrong url or credential, not retried), and for a change that
//     still fails transiently after its retries.
//
// After a 410, a wrong url or credential, or a change that used up its
// retries, no further request starts and retries waiting for their backoff
// give up: each change not sent gets an error wrapping the same sentinel
// as the failure that halted the batch (sinks.ErrGone or
// sinks.ErrUnavailable), never ErrPermanent, so it stays queued. Requests
// already in flight finish and count.
func (s *Sink) Deliver(ctx context.Context, batch []contact.Change) []error {
	errs := make([]error, len(batch))
	msgs := s.messages(batch, errs)
	results := make([]*result, len(msgs))
	unsent := s.pool.Run(ctx, len(msgs), nil, func(halted context.Context, i int) error {
		r := s.post(ctx, halted, msgs[i])
		results[i] = &r
		return r.halts(msgs[i].id)
	})
	for i, m := range msgs {
		for _, c := range m.changes {
			if results[i] == nil {
				errs[c] = fmt.Errorf("webhook: POST %s: %w", s.target, unsent[i])
			} else {
				errs[c] = s.verdict(*results[i], batch[c])
			}
		}
	}
	return errs
}

// halts returns, for a message whose delivery must stop the batch (a 410,
// a wrong url or credential, transient failures that outlasted the
// retries), the error the changes not sent get, wrapping the sentinel
// that tells the engine what to do with them: never ErrPermanent, so that
// they stay queued. It returns nil for any other result.
func (r result) halts(id string) error {
	var sentinel error
	switch {
	case r.class == gone:
		sentinel = sinks.ErrGone
	case r.class == misdirected, r.gaveUp:
		sentinel = sinks.ErrUnavailable
	default:
		return nil
	}
	return fmt.Errorf("%s failed: %w: %w", id, sentinel, r.err)
}

// verdict turns how a message ended into the error of one of its changes,
// wrapping the sentinel that tells the engine what to do with it.
func (s *Sink) verdict(r result, ch contact.Change) error {
	var sentinel error
	switch {
	case r.err == nil:
		return nil
	case r.class == canceled:
		return fmt.Errorf("webhook: POST %s: %w", s.target, r.err)
	case r.class == refused:
		sentinel = sinks.ErrPermanent
	case r.class == misdirected:
		sentinel = sinks.ErrUnavailable
	case r.class == gone:
		sentinel = sinks.ErrGone
	case r.gaveUp && s.now().Sub(ch.DetectedAt) > s.maxAge:
		return fmt.Errorf("webhook: POST %s: %w: failing for longer than max_age %v: %w", s.target, sinks.ErrPermanent, s.maxAge, r.err)
	default:
		sentinel = sinks.ErrUnavailable
	}
	return fmt.Errorf("webhook: POST %s: %w: %w", s.target, sentinel, r.err)
}

// Check reports whether the receiver answers at all, with an OPTIONS
// request that no receiver takes for an event. Any HTTP response will do:
// it proves the address, the TLS setup and any proxy work.
func (s *Sink) Check(ctx context.Context) error {
	attemptCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(attemptCtx, http.MethodOptions, s.url, nil)
	if err != nil {
		return fmt.Errorf("webhook: OPTIONS %s: %w", s.target, withoutURL(err))
	}
	req.Header = s.headers.Clone()
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: OPTIONS %s: %w: %w", s.target, sinks.ErrUnavailable, s.transportError(ctx, attemptCtx, err))
	}
	discard(resp.Body)
	return nil
}

// Close releases the idle connections.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// Interface guards.
var (
	_ sinks.Sink         = (*Sink)(nil)
	_ sinks.Checker      = (*Sink)(nil)
	_ io.Closer          = (*Sink)(nil)
	_ sinks.Config       = (*Config)(nil)
	_ sinks.FormerTarget = (*Config)(nil)
	_ sinks.SecretHolder = (*Config)(nil)
)
