// Package source is the client for the Connect (Skarbe) API, where
// connect-sync reads its contacts. It sends the API key on every request,
// bounds every attempt with a timeout, retries what is safe to retry with
// exponential backoff and full jitter, and streams the contact list, which
// arrives as one large JSON array, without holding it in memory.
package source

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/connect-sync/connect-sync/internal/backoff"
	"github.com/connect-sync/connect-sync/internal/secret"
)

// DefaultBaseURL is where the Connect API lives.
const DefaultBaseURL = "https://api.skarbe.com"

// DefaultTimeout bounds one request attempt when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// Options configure a Client.
type Options struct {
	// BaseURL is the API's root; DefaultBaseURL when empty. It may carry a
	// path prefix and a trailing slash.
	BaseURL string
	// APIKey is sent as X-Api-Key. It never appears in errors or logs.
	APIKey secret.String
	// Redactor removes other secrets (a workspace's sinks') from what the
	// client quotes of the API's answers; the API key is always removed.
	Redactor *secret.Redactor
	// Timeout bounds each attempt, reading the whole body included;
	// DefaultTimeout when zero.
	Timeout time.Duration
	// MaxRetries is how many times a failed request is retried after the
	// first attempt; 0 means never.
	MaxRetries int
	// UserAgent identifies the program, such as "connect-sync/1.2.0";
	// "connect-sync" when empty.
	UserAgent string
	// HTTPClient makes the requests; a plain http.Client when nil. Without
	// a CheckRedirect of its own, it is given one that refuses redirects to
	// another host, which would receive the API key.
	HTTPClient *http.Client
	// Logger gets a warning for every retry; nothing is logged when nil.
	Logger *slog.Logger
	// Observe, if set, is told about every attempt once it is over: the
	// endpoint ("contacts", "lead-statuses", "me", "create-contact"), the
	// HTTP status (0 when no response arrived) and how long it took, the
	// body included. Metrics hang here.
	Observe func(endpoint string, status int, elapsed time.Duration)
}

// Client calls the Connect API. It is safe for concurrent use.
type Client struct {
	base       *url.URL
	apiKey     secret.String
	redact     *secret.Redactor // the key and Options.Redactor's secrets
	timeout    time.Duration
	maxRetries int
	userAgent  string
	http       *http.Client
	logger     *slog.Logger
	observe    func(endpoint string, status int, elapsed time.Duration)

	// Tests replace these to observe backoff without waiting for it.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

// New checks the options and returns a client.
func New(opts Options) (*Client, error) {
	if opts.APIKey.IsZero() {
		return nil, errors.New("source: missing API key")
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("source: negative timeout %v", opts.Timeout)
	}
	if opts.MaxRetries < 0 {
		return nil, fmt.Errorf("source: negative max retries %d", opts.MaxRetries)
	}
	base, err := url.Parse(cmp.Or(opts.BaseURL, DefaultBaseURL))
	if err != nil {
		return nil, fmt.Errorf("source: base URL: %w", err)
	}
	switch {
	case (base.Scheme != "http" && base.Scheme != "https") || base.Host == "":
		return nil, fmt.Errorf("source: base URL %q is not an http or https URL", base.Redacted())
	case base.User != nil:
		// net/http would send them as basic auth, and errors name the URL.
		return nil, errors.New("source: base URL must not hold credentials")
	}
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		copied := *opts.HTTPClient
		hc = &copied
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		base:       base,
		apiKey:     opts.APIKey,
		redact:     opts.Redactor.With(opts.APIKey),
		timeout:    cmp.Or(opts.Timeout, DefaultTimeout),
		maxRetries: opts.MaxRetries,
		userAgent:  cmp.Or(opts.UserAgent, "connect-sync"),
		http:       hc,
		logger:     logger,
		observe:    opts.Observe,
		sleep:      backoff.Sleep,
		now:        time.Now,
	}
	if hc.CheckRedirect == nil {
		hc.CheckRedirect = c.sameHostRedirect
	}
	return c, nil
}

// errRedirect is why a redirect was not followed; it is never retried.
var errRedirect = errors.New("redirect to another host or to plain http refused, it would receive the API key")

// sameHostRedirect follows redirects like net/http does, except to another
// host or from https to http: net/http forwards custom headers such as
// X-Api-Key there. It names where the redirect went by scheme and host:
// the rest of the location, like the host, is the server's, and may echo
// a secret.
func (c *Client) sameHostRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Host != via[0].URL.Host || (via[0].URL.Scheme == "https" && req.URL.Scheme != "https") {
		return fmt.Errorf("%w (%s)", errRedirect, c.redact.Redact(req.URL.Scheme+"://"+req.URL.Host))
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// request describes one API call.
type request struct {
	endpoint string // short name for errors and logs, such as "contacts"
	method   string
	path     string
	query    url.Values
	body     []byte // JSON; nil for none
}

// newRequest builds the HTTP request for one attempt.
func (c *Client) newRequest(ctx context.Context, r request) (*http.Request, error) {
	u := c.base.JoinPath(r.path)
	u.RawQuery = r.query.Encode()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Api-Key", c.apiKey.Reveal())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}
