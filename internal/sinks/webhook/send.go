package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connect-sync/connect-sync/internal/backoff"
)

// retries is the timing of retries: waits of up to 1 s, then 2 s, 4 s…
// up to 30 s, and a receiver's Retry-After honoured up to a minute, so
// that one answer cannot stall a run; max_retries bounds the total.
var retries = backoff.Policy{Min: time.Second, Max: 30 * time.Second, MaxRetryAfter: time.Minute}

const (
	// errorBodyLimit bounds what is read of a failed response, and
	// snippetLen what of it an error quotes.
	errorBodyLimit = 4 << 10
	snippetLen     = 200
	// drainLimit bounds what is read and thrown away of a response so
	// that its connection can carry the next request; a longer body costs
	// the connection instead.
	drainLimit = 64 << 10
)

// class says what a failed attempt means for the message.
type class int

const (
	transient   class = iota // 408, 425, 429, 5xx, timeouts, connection errors
	misdirected              // 3xx, 401, 403, 404, 405: the url or the credentials are wrong
	refused                  // other 4xx: this event is never taken
	gone                     // 410: the receiver wants nothing more
	canceled                 // the Deliver context ended
)

// failure is one failed attempt.
type failure struct {
	class      class
	err        error         // what happened, with no sentinel
	retryAfter time.Duration // the receiver's Retry-After, 0 when none
}

// result is how a message's delivery ended.
type result struct {
	class  class
	err    error // nil when acknowledged
	gaveUp bool  // transient failures outlasted the retries
}

// post sends a message, retrying transient failures. The backoff sleeps
// end early once halted is done.
func (s *Sink) post(ctx, halted context.Context, m message) result {
	for attempt := 1; ; attempt++ {
		f := s.attempt(ctx, m)
		switch {
		case f == nil:
			return result{}
		case f.class != transient:
			return result{class: f.class, err: f.err}
		case ctx.Err() != nil:
			return result{class: canceled, err: f.err}
		case attempt > s.maxRetries:
			return result{class: transient, err: attempts(f.err, attempt), gaveUp: true}
		}
		wait := f.retryAfter
		if wait == 0 {
			wait = retries.Wait(attempt)
		}
		s.logger.Warn("webhook request failed; retrying", "event", m.id, "attempt", attempt, "wait", wait, "error", f.err)
		if err := s.sleep(halted, wait); err != nil {
			if ctx.Err() != nil {
				return result{class: canceled, err: fmt.Errorf("%w while waiting to retry after: %w", ctx.Err(), f.err)}
			}
			return result{class: transient, err: attempts(f.err, attempt)}
		}
	}
}

func attempts(err error, n int) error {
	if n == 1 {
		return err
	}
	return fmt.Errorf("%w (%d attempts)", err, n)
}

// attempt makes one signed request; nil means the receiver answered 2xx.
func (s *Sink) attempt(ctx context.Context, m message) *failure {
	attemptCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(attemptCtx, http.MethodPost, s.url, bytes.NewReader(m.body))
	if err != nil {
		return &failure{class: refused, err: withoutURL(err)}
	}
	timestamp := s.now().Unix()
	req.Header = s.headers.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Webhook-Id", m.id)
	req.Header.Set("Webhook-Timestamp", strconv.FormatInt(timestamp, 10))
	req.Header.Set("Webhook-Signature", s.sign(m.id, timestamp, m.body))
	resp, err := s.client.Do(req)
	if err != nil {
		return &failure{class: transient, err: s.transportError(ctx, attemptCtx, err)}
	}
	defer discard(resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	f := &failure{class: classify(resp.StatusCode), err: s.statusError(resp)}
	if f.class == transient {
		f.retryAfter = retries.RetryAfter(resp.Header.Get("Retry-After"), s.now())
	}
	return f
}

// classify says what a status other than 2xx means. A redirect, a refused
// credential or a missing endpoint concerns every event alike (the spec
// advises updating the URL rather than following redirects): sending the
// rest would only dead-letter the whole queue.
func classify(status int) class {
	switch {
	case status == http.StatusGone:
		return gone
	case status >= 300 && status <= 399, status == http.StatusUnauthorized, status == http.StatusForbidden,
		status == http.StatusNotFound, status == http.StatusMethodNotAllowed:
		return misdirected
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly,
		status == http.StatusTooManyRequests, status >= 500:
		return transient
	}
	return refused
}

// statusError describes a response: its status and the start of its
// body, without the secrets a receiver may quote back (an echo of the
// request's headers, say).
func (s *Sink) statusError(resp *http.Response) error {
	status := strings.TrimSpace(fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		if loc, err := url.Parse(resp.Header.Get("Location")); err == nil && loc.String() != "" {
			to := shown(resp.Request.URL.ResolveReference(loc))
			if loc.Host != "" { // the receiver's words
				to = s.redact.Redact(to)
			}
			status += fmt.Sprintf(" to %s (redirects are not followed: set url to where it points)", to)
		}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
	if text := s.redact.Quote(body, snippetLen); text != "" {
		status += ": " + text
	}
	return errors.New(status)
}

// discard reads what is left of a body, within drainLimit, so that its
// connection can be reused, and closes it.
func discard(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	body.Close()
}

// transportError describes an error from the client, saying so when the
// attempt timed out. What net/http says may quote the receiver's answer
// (a malformed status line), which may echo a secret: it is redacted
// before the sink's own words go around it.
func (s *Sink) transportError(ctx, attemptCtx context.Context, err error) error {
	err = s.redact.Error(withoutURL(err))
	if attemptCtx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("no response within %v: %w", s.timeout, err)
	}
	return err
}

// withoutURL drops the URL that net/http puts in its errors: its query
// may hold credentials, and the sink's errors name the target already.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// newClient makes the client every delivery reuses: it keeps a connection
// per worker alive between requests, never follows redirects, and trusts
// roots instead of the system's CAs when they are given.
func newClient(roots *x509.CertPool, concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = concurrency
	t.MaxIdleConns = max(t.MaxIdleConns, concurrency)
	if roots != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
