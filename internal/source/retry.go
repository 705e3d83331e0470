package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/connect-sync/connect-sync/internal/backoff"
)

// retries is the timing of retries: waits of up to 1 s, then 2 s, 4 s…
// up to 30 s, and a server's Retry-After honoured up to two minutes; the
// retry budget still bounds the total.
var retries = backoff.Policy{Min: time.Second, Max: 30 * time.Second, MaxRetryAfter: 2 * time.Minute}

// do makes a request, retrying what is safe to retry, and hands each 2xx
// response to read. Every error it returns starts with "source: <endpoint>".
func (c *Client) do(ctx context.Context, r request, read func(*http.Response) error) error {
	for attempt := 1; ; attempt++ {
		retry, wait, err := c.attempt(ctx, r, read)
		switch {
		case err == nil:
			return nil
		case !retry || ctx.Err() != nil:
			return fmt.Errorf("source: %s: %w", r.endpoint, err)
		case attempt > c.maxRetries:
			if attempt > 1 {
				err = fmt.Errorf("giving up after %d attempts: %w", attempt, err)
			}
			return fmt.Errorf("source: %s: %w", r.endpoint, err)
		}
		if wait == 0 {
			wait = retries.Wait(attempt)
		}
		c.logger.Warn("retrying Connect API request",
			"endpoint", r.endpoint, "attempt", attempt, "wait", wait, "reason", err)
		if serr := c.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("source: %s: %w while waiting to retry after: %w", r.endpoint, serr, err)
		}
	}
}

// attempt makes one request. retry reports whether its failure may be
// retried, and wait how long the server asked for (0 when it did not say).
//
// GET requests are retried on network errors, timeouts, 429 and 5xx. A POST
// may already have created its contact when the connection broke or the
// server failed, and retrying it would create a duplicate, so it is retried
// only when the server cannot have processed it: on 429 and 503 (the server
// turned it away) and when the connection could not even be made.
func (c *Client) attempt(ctx context.Context, r request, read func(*http.Response) error) (retry bool, wait time.Duration, err error) {
	attemptCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var status int
	if c.observe != nil {
		start := c.now()
		defer func() { c.observe(r.endpoint, status, c.now().Sub(start)) }()
	}
	defer func() {
		if err != nil && attemptCtx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no complete response within %v: %w", c.timeout, err)
		}
	}()
	req, err := c.newRequest(attemptCtx, r)
	if err != nil {
		return false, 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		retry = !errors.Is(err, errRedirect) && (r.method == http.MethodGet || isDialError(err))
		return retry, 0, c.transportError(req, err)
	}
	status = resp.StatusCode
	body := &recordingBody{ReadCloser: resp.Body}
	resp.Body = body
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return retryStatus(r.method, resp.StatusCode), retries.RetryAfter(resp.Header.Get("Retry-After"), c.now()), c.statusError(r.endpoint, resp)
	}
	err = read(resp)
	var stop final
	retry = err != nil && body.err != nil && r.method == http.MethodGet && !errors.As(err, &stop)
	return retry, 0, err
}

// retryStatus reports whether a request that got status may be retried.
func retryStatus(method string, status int) bool {
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return true
	case method == http.MethodGet:
		return status >= 500
	}
	return false
}

// transportError is an error of the client's Do, naming the request's
// URL, which is ours, rather than a redirect's, which is the server's.
// What net/http says may quote the server's answer too (a malformed
// status line): it is redacted.
func (c *Client) transportError(req *http.Request, err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return c.redact.Error(err)
	}
	inner := ue.Err
	if !errors.Is(inner, errRedirect) { // which says where, redacted
		inner = c.redact.Error(inner)
	}
	return &url.Error{Op: ue.Op, URL: req.URL.String(), Err: inner}
}

// isDialError reports whether err happened while connecting, before any
// byte of the request was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// final marks an error from reading a response that must not be retried
// even though the connection failed, such as one after contacts were
// already handed to the caller.
type final struct{ error }

func (f final) Unwrap() error { return f.error }

// recordingBody remembers a read error, so a broken connection can be told
// apart from a body that arrived whole but malformed.
type recordingBody struct {
	io.ReadCloser
	err error
}

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
