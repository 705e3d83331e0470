// Package nats is the nats sink: each contact change is published to a
// NATS JetStream stream as the JSON event the webhook sink sends
// (internal/event), on the subject
// "<subject_prefix>.<workspace>.contact.<created|updated|deleted>", with
// the change's ID in the Nats-Msg-Id header. The event's workspace field
// is the subject's workspace token.
//
// A change counts as delivered only once JetStream acknowledged storing
// it in the configured stream: each publish expects that stream, so a
// stream that takes the subjects under another name refuses it. Delivery
// is at least once: a change published and then not recorded as
// acknowledged (a crash in between, an acknowledgement lost to a timeout)
// is published again with the same Nats-Msg-Id, and the stream drops that
// copy when it arrives within the stream's duplicate window, so the
// stream holds exactly one.
//
// A contact's changes reach the stream in the order they were detected:
// a batch holds at most one change per contact, and the engine hands over
// the next batch only once Deliver returned, after every publish of this
// one was acknowledged or failed (a failed change stays queued and holds
// back the contact's later ones).
//
// The first Deliver connects, within the timeout and the run's context,
// and creates the stream when it is missing; an existing stream is used
// as it is, provided its subjects cover the sink's. A server that cannot
// be reached, a publish that is not acknowledged within the timeout, a
// stream that does not answer or refuses as a whole (no leader, full, a
// permissions violation) stop the sink for the run with
// sinks.ErrUnavailable, its changes still queued. A message the server
// will never store (larger than its max payload or the stream's maximum
// message size) is refused for good with sinks.ErrPermanent.
package nats

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	natsclient "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event"
	"github.com/connect-sync/connect-sync/internal/natsconn"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Sink publishes changes to one JetStream stream. Deliver calls may not
// overlap (the engine makes one at a time per sink); the connection is
// kept between them until Close.
type Sink struct {
	conn      *natsconn.Options // the servers, credentials and client options
	target    string            // for errors: the stream and subjects
	stream    jetstream.StreamConfig
	subjects  string // every subject but its last token
	workspace string // the subjects' workspace token, named in every event
	timeout   time.Duration
	pool      sinks.Pool
	logger    *slog.Logger
	// redact removes the secrets a server may quote back (in an -ERR, a
	// JetStream API error) from what the sink's errors and logs quote of
	// what it says.
	redact *secret.Redactor

	mu sync.Mutex // guards nc and js against Close during Deliver
	nc *natsclient.Conn
	js jetstream.JetStream

	// lastAsync is the server's last asynchronous error in this Deliver
	// (a permissions violation), which explains publishes that were never
	// acknowledged; asyncLogged tells whether one was logged in it.
	lastAsync   atomic.Pointer[error]
	asyncLogged atomic.Bool
}

// Deliver publishes the batch, up to concurrency publishes awaiting their
// acknowledgement at once, in the batch's order, and returns one error per change, in order:
//
//   - nil once JetStream acknowledged the message, a duplicate that the
//     stream dropped included;
//   - one wrapping sinks.ErrPermanent for a message the server never
//     stores (too large);
//   - one wrapping sinks.ErrUnavailable when the servers cannot be
//     reached, the stream cannot be created or found or does not take
//     the sink's subjects, or a publish was not acknowledged by the
//     configured stream; no further publish starts, and the changes not
//     published get the same sentinel;
//   - any other error for a change that could not be encoded (it stays
//     queued).
func (s *Sink) Deliver(ctx context.Context, batch []contact.Change) []error {
	s.lastAsync.Store(nil)
	s.asyncLogged.Store(false)
	js, err := s.connect(ctx)
	if err != nil {
		return sinks.Fail(batch, err)
	}
	turns := sinks.NewTurns(len(batch))
	return s.pool.Run(ctx, len(batch), nil, func(halted context.Context, i int) error {
		var f jetstream.PubAckFuture
		err := turns.Take(halted, i, func() (err error) {
			f, err = s.publish(js, batch[i])
			return err
		})
		if err != nil {
			return err
		}
		return s.await(ctx, batch[i], f)
	})
}

// publish sends one change without waiting for its acknowledgement.
func (s *Sink) publish(js jetstream.JetStream, ch contact.Change) (jetstream.PubAckFuture, error) {
	subject := s.subjects + string(ch.Kind)
	body, err := event.Encode(s.workspace, ch)
	if err != nil {
		return nil, fmt.Errorf("nats: event %s: %w", ch.ID, err)
	}
	msg := &natsclient.Msg{Subject: subject, Data: body, Header: natsclient.Header{}}
	f, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(ch.ID),
		jetstream.WithExpectStream(s.stream.Name), jetstream.WithStallWait(s.timeout))
	if err != nil {
		return nil, s.publishError(subject, err)
	}
	return f, nil
}

// await waits for a publish's acknowledgement.
func (s *Sink) await(ctx context.Context, ch contact.Change, f jetstream.PubAckFuture) error {
	subject := f.Msg().Subject
	select {
	case ack := <-f.Ok():
		if ack.Duplicate {
			s.logger.Debug("the stream already held this event", "event", ch.ID, "stream", ack.Stream, "seq", ack.Sequence)
		}
		return nil
	case err := <-f.Err():
		return s.publishError(subject, err)
	case <-ctx.Done():
		return fmt.Errorf("nats: publish %s: %w", subject, ctx.Err())
	}
}

// publishError says why a publish failed, wrapping the sentinel that
// tells the engine what to do. The server's words in err are redacted.
func (s *Sink) publishError(subject string, err error) error {
	var apiErr *jetstream.APIError
	said := s.redact.Error(err)
	switch {
	case errors.Is(err, natsclient.ErrMaxPayload), errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum):
		return fmt.Errorf("nats: publish %s: %w: %w", subject, sinks.ErrPermanent, said)
	case errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		said = fmt.Errorf("no acknowledgement within %v%s: %w", s.timeout, s.asyncHint(), said)
	case errors.Is(err, jetstream.ErrNoStreamResponse):
		said = fmt.Errorf("no stream answered for %s: %w", subject, said)
	case errors.As(err, &apiErr):
		said = fmt.Errorf("stream %s refused: %w", s.stream.Name, said)
	}
	return fmt.Errorf("nats: publish %s to %s: %w: %w", subject, s.target, sinks.ErrUnavailable, said)
}

// asyncHint is the server's last asynchronous error in this Deliver, for
// a publish that went unanswered: a permissions violation is only
// reported that way.
func (s *Sink) asyncHint() string {
	if err := s.lastAsync.Load(); err != nil {
		return fmt.Sprintf(" (the server said: %v)", *err)
	}
	return ""
}

// asyncError keeps the server's asynchronous errors for asyncHint. It
// logs the first of a Deliver as a warning, the others at debug level: a
// refused batch brings one per publish.
func (s *Sink) asyncError(_ *natsclient.Conn, _ *natsclient.Subscription, err error) {
	err = s.redact.Error(err)
	s.lastAsync.Store(&err)
	if s.asyncLogged.CompareAndSwap(false, true) {
		s.logger.Warn("nats server reported an error", "error", err)
		return
	}
	s.logger.Debug("nats server reported an error", "error", err)
}

// connect returns the JetStream context, connecting and making sure the
// stream exists the first time.
func (s *Sink) connect(ctx context.Context) (jetstream.JetStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nc != nil && !s.nc.IsClosed() {
		return s.js, nil
	}
	nc, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(s.pool.Workers),
		jetstream.WithPublishAsyncTimeout(s.timeout),
	)
	if err == nil {
		err = s.ensureStream(ctx, js)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: %s: %w: %w", s.target, sinks.ErrUnavailable, err)
	}
	s.nc, s.js = nc, js
	return js, nil
}

// ensureStream creates the stream when it is missing. An existing one is
// left as it is, once its subjects are found to cover the sink's;
// settings that weaken what the config asks for are logged.
func (s *Sink) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	name := s.stream.Name
	stream, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, s.stream)
		switch {
		case err == nil:
			s.logger.Info("created the stream", "stream", name, "subjects", s.stream.Subjects,
				"replicas", s.stream.Replicas, "max_age", s.stream.MaxAge, "duplicate_window", s.stream.Duplicates)
			return nil
		case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse):
			// Another client created it meanwhile, with other settings.
			stream, err = js.Stream(ctx, name)
		default:
			return fmt.Errorf("create stream %s: %w", name, s.redact.Error(err))
		}
	}
	if err != nil {
		return fmt.Errorf("look up stream %s: %w", name, s.redact.Error(err))
	}
	have := stream.CachedInfo().Config
	if err := s.covered(have); err != nil {
		return err
	}
	s.warnSettings(have)
	return nil
}

// covered returns an error unless the stream takes every subject of the
// sink: publishes to the others would go to another stream or nowhere.
func (s *Sink) covered(have jetstream.StreamConfig) error {
	for _, kind := range event.Kinds() {
		subject := s.subjects + string(kind)
		if !slices.ContainsFunc(have.Subjects, func(filter string) bool { return subjectMatches(filter, subject) }) {
			return fmt.Errorf("stream %s takes the subjects [%s], which do not cover %s*: "+
				"configure another stream, subject_prefix or workspace, or add the subjects to the stream",
				have.Name, s.redact.Redact(strings.Join(have.Subjects, ", ")), s.subjects)
		}
	}
	return nil
}

// subjectMatches reports whether a stream's subject filter, with its '*'
// and '>' wildcards, takes a subject without wildcards.
func subjectMatches(filter, subject string) bool {
	f, t := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, token := range f {
		switch {
		case token == ">":
			return len(t) > i
		case i >= len(t) || token != "*" && token != t[i]:
			return false
		}
	}
	return len(f) == len(t)
}

// warnSettings logs what makes an existing stream weaker than the one the
// config would create; other differences are the operator's choice.
func (s *Sink) warnSettings(have jetstream.StreamConfig) {
	if have.Storage == jetstream.MemoryStorage {
		s.logger.Warn("the stream keeps its events in memory: a server restart loses them; connect-sync leaves it as it is",
			"stream", have.Name)
	}
	if have.Duplicates < s.stream.Duplicates {
		s.logger.Warn("the stream's duplicate window is shorter than the config's: a change published again after it is stored twice; connect-sync leaves it as it is",
			"stream", have.Name, "duplicate_window", have.Duplicates, "config", s.stream.Duplicates)
	}
}

// dial connects within the timeout and the run's context; a failure stops
// the sink for the run. A server's -ERR is in the error, redacted.
func (s *Sink) dial(ctx context.Context) (*natsclient.Conn, error) {
	nc, err := natsconn.Dial(ctx, s.conn)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w: %w", s.conn.Servers, sinks.ErrUnavailable, s.redact.Error(err))
	}
	return nc, nil
}

// Check connects and reads the stream's state, creating nothing: any
// answer from JetStream proves the servers, the credentials and TLS work,
// and an existing stream must take the sink's subjects.
func (s *Sink) Check(ctx context.Context) error {
	nc, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("nats: %s: %w", s.target, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("nats: %s: %w: jetstream: %w", s.target, sinks.ErrUnavailable, s.redact.Error(err))
	}
	stream, err := js.Stream(ctx, s.stream.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("nats: %s: %w: stream %s: %w", s.target, sinks.ErrUnavailable, s.stream.Name, s.redact.Error(err))
	}
	if err := s.covered(stream.CachedInfo().Config); err != nil {
		return fmt.Errorf("nats: %s: %w: %w", s.target, sinks.ErrUnavailable, err)
	}
	return nil
}

// Close closes the connection. Publishes still awaiting an
// acknowledgement count as not delivered.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nc != nil {
		s.nc.Close()
		s.nc, s.js = nil, nil
	}
	return nil
}

// Interface guards.
var (
	_ sinks.Sink             = (*Sink)(nil)
	_ sinks.Checker          = (*Sink)(nil)
	_ io.Closer              = (*Sink)(nil)
	_ sinks.Config           = (*Config)(nil)
	_ sinks.Exclusive        = (*Config)(nil)
	_ sinks.WorkspaceDefault = (*Config)(nil)
	_ sinks.SecretHolder     = (*Config)(nil)
)
