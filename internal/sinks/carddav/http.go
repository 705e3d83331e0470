package carddav

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Bounds that catch a dead server without cutting off a slow one. Each
// request also has the config's timeout, its whole response included.
const (
	dialTimeout           = 30 * time.Second
	responseHeaderTimeout = 2 * time.Minute
)

// Bounds on what a response body may hold, so that a hostile or broken
// server cannot run the process out of memory.
const (
	// maxBody bounds any response but the book's listing: a card (the
	// largest the sink writes, from a contact just under the source's 4
	// MiB, is 25 MiB: names in both FN and N, invalid UTF-8 written as
	// three bytes), a PROPFIND's multistatus, an error.
	maxBody = 32 << 20
	// maxListing bounds the REPORT that lists the whole book, cards
	// included: 100,000 cards of 2.5 KiB. It is decoded one response at a
	// time, each within maxBody.
	maxListing = 256 << 20
	// minListingTime is the least time the listing gets, whatever the
	// timeout: a server may take minutes to list a large book.
	minListingTime = 10 * time.Minute
)

// bounds limit a request: the time for its whole answer, body included,
// and the size of its body.
type bounds struct {
	time time.Duration
	size int64
}

// client sends the sink's requests and go-webdav's (it is their
// webdav.HTTPClient), turning failures into errors that tell the engine
// what to do.
type client struct {
	http *http.Client
	// hint says what to check after a 401.
	hint string
	// redact removes the secrets a server may quote back from what the
	// errors quote of its answers.
	redact *secret.Redactor
	// configured is the url or server of the config, which errors show
	// as it is.
	configured string
	// request bounds every request but the listing, which has its own.
	request, listing bounds
}

func newHTTPClient(c *Config, auth secret.String, redact *secret.Redactor) (*client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = responseHeaderTimeout
	tr.MaxIdleConnsPerHost = c.Concurrency
	if c.TLSCAFile != "" {
		pool, err := caPool(c.TLSCAFile)
		if err != nil {
			return nil, &sinks.FieldError{Key: "tls_ca_file", Err: err}
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	base, err := url.Parse(cmp.Or(c.URL, c.Server))
	if err != nil {
		return nil, err
	}
	hint := "the server wants credentials: set username and password, or bearer_token"
	switch {
	case c.Username != "":
		hint = "check username and password"
	case !auth.IsZero():
		hint = "check the bearer token"
	}
	cl := &client{
		http:       &http.Client{Transport: &authTransport{next: tr, scheme: base.Scheme, host: base.Host, auth: auth}},
		hint:       hint,
		redact:     redact,
		configured: cmp.Or(c.URL, c.Server),
		request:    bounds{time: c.Timeout, size: maxBody},
		listing:    bounds{time: max(c.Timeout, minListingTime), size: maxListing},
	}
	cl.http.CheckRedirect = cl.checkRedirect
	return cl, nil
}

// shown is a URL as errors and logs show it, without the secrets the
// server may have put in it: after the configured url or server, the
// path may be the server's words (a book found by discovery, an href it
// listed, a redirect's location).
func (c *client) shown(u string) string {
	if rest, ok := strings.CutPrefix(u, c.configured); ok && c.configured != "" {
		return c.configured + c.redact.Redact(rest)
	}
	return c.redact.Redact(u)
}

// caPool is the system's CA certificates and those in file.
func caPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// checkRedirect refuses a redirect to another scheme, host or port: Go
// sends a PUT's card there again, and go-webdav's requests too. On the
// same server, it follows a redirect only when it keeps the method: Go
// turns a PROPFIND answered with 301 into a GET, which would read a web
// page as a multistatus. The 3xx is returned instead, for discovery to
// follow.
func (c *client) checkRedirect(req *http.Request, via []*http.Request) error {
	if from := via[0].URL; req.URL.Scheme != from.Scheme || req.URL.Host != from.Host {
		return c.redirected(req.URL)
	}
	if len(via) >= 10 || req.Method != via[0].Method {
		return http.ErrUseLastResponse
	}
	return nil
}

// redirectError is a redirect to another server, not followed.
type redirectError struct {
	to string // its scheme and host, redacted
}

// redirected is the error of a redirect to u. It names u's scheme and
// host only: the rest may hold a token, and all of it is the server's.
func (c *client) redirected(u *url.URL) *redirectError {
	return &redirectError{to: c.shown(u.Scheme + "://" + u.Host)}
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("the server redirected to another server, %s, which connect-sync does not follow: "+
		"cards and credentials go only to the configured one (if the address book lives there, configure its URL)", e.to)
}

// authTransport adds the Authorization header to requests for the
// configured scheme and host only, so a redirect elsewhere never carries it.
type authTransport struct {
	next         http.RoundTripper
	scheme, host string
	auth         secret.String
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A redirect to plain http on the same host must not carry them either.
	if t.auth.IsZero() || req.URL.Host != t.host || req.URL.Scheme != t.scheme {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", t.auth.Reveal())
	return t.next.RoundTrip(req)
}

func basicAuth(username string, password secret.String) secret.String {
	return secret.New("Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+password.Reveal())))
}

// Do sends a request for go-webdav. Credentials the server refuses become
// an error here, since go-webdav's own errors do not expose the status.
// go-webdav quotes the body of any other failure in its error, whole and
// as it came: it gets the body as Quote makes it instead.
func (c *client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.do(req, c.request)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, c.fail(resp)
	case resp.StatusCode/100 != 2:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		resp.Header.Set("Content-Type", "text/plain")
		resp.Body = io.NopCloser(strings.NewReader(c.redact.Quote(b, maxQuote)))
	}
	return resp, nil
}

// send sends one request with the given headers and body and returns the
// response whatever its status, within the request bounds; the caller
// closes its body.
func (c *client) send(ctx context.Context, method, target string, header http.Header, body []byte) (*http.Response, error) {
	return c.sendWithin(ctx, method, target, header, body, c.request)
}

// sendWithin is send within b.
func (c *client) sendWithin(ctx context.Context, method, target string, header http.Header, body []byte, b bounds) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		// The target is made of the server's hrefs; the error quotes it.
		return nil, fmt.Errorf("carddav: %s %s: %w", method, c.shown(target), c.redact.Error(err))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "connect-sync")
	return c.do(req, b)
}

// errTimeout is the cause of a request that outlived its time.
var errTimeout = errors.New("timeout")

// do sends req within b, whose time covers reading the whole body: a
// server that trickles a response, or sends one without end, fails the
// request instead of holding the run or filling the memory.
func (c *client) do(req *http.Request, b bounds) (*http.Response, error) {
	ctx, cancel := context.WithTimeoutCause(req.Context(), b.time, errTimeout)
	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		if context.Cause(ctx) == errTimeout {
			err = fmt.Errorf("no response within %v (see the sink's timeout)", b.time)
		} else {
			err = c.netError(err)
		}
		cancel()
		return nil, c.transportError(req, err)
	}
	resp.Body = &boundedBody{body: resp.Body, ctx: ctx, cancel: cancel, left: b.size, bounds: b}
	return resp, nil
}

// boundedBody is a response body read within its request's bounds.
type boundedBody struct {
	body   io.ReadCloser
	ctx    context.Context
	cancel context.CancelFunc
	left   int64 // bytes still allowed
	bounds
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.tooLarge()
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more tells a body over the limit
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - 1, b.tooLarge()
	}
	if err != nil && err != io.EOF && context.Cause(b.ctx) == errTimeout {
		// The server is too slow for the whole run, not for this request.
		err = fmt.Errorf("%w: no complete response within %v (see the sink's timeout)", sinks.ErrUnavailable, b.time)
	}
	return n, err
}

func (b *boundedBody) tooLarge() error {
	return fmt.Errorf("response body larger than %d MiB, more than the sink reads", b.size>>20)
}

func (b *boundedBody) Close() error {
	defer b.cancel()
	return b.body.Close()
}

// statusError is a response with a status the sink did not expect.
type statusError struct {
	method, url string
	status      string // "401 Unauthorized"
	detail      string // a hint, or what the server said
	kind        error  // the sinks sentinel it wraps, if any
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("carddav: %s %s: %s", e.method, e.url, e.status)
	if e.detail != "" {
		msg += ": " + e.detail
	}
	return msg
}

func (e *statusError) Unwrap() error { return e.kind }

// fail closes resp and describes it as an error. Refused credentials and
// a server that is down (502, 503, 504) stop the sink for the run; a card
// the server finds malformed or too large will never be taken; anything
// else, a 500 included, concerns this request alone and is tried again
// next run.
func (c *client) fail(resp *http.Response) error {
	defer resp.Body.Close()
	// The URL may be a redirect's, and the status line is the server's.
	e := &statusError{method: resp.Request.Method, url: c.shown(resp.Request.URL.String()), status: c.redact.Redact(resp.Status)}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		e.kind, e.detail = sinks.ErrUnavailable, c.hint
	case http.StatusForbidden:
		// A 403 carrying a DAV:error names a precondition this card
		// failed (RFC 4918 16, RFC 6352 6.3.2.1); a bare one, the account.
		if name := precondition(resp); name != "" {
			e.kind, e.detail = sinks.ErrPermanent, "the server refused this card: "+c.redact.Redact(name)
		} else {
			e.kind, e.detail = sinks.ErrUnavailable, "the account may not write to this address book"
		}
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		// The server (or its proxy) is down or overloaded as a whole:
		// going on would wait out every card of the batch in turn.
		e.kind, e.detail = sinks.ErrUnavailable, c.serverSays(resp)
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		e.kind, e.detail = sinks.ErrPermanent, c.serverSays(resp)
	default:
		e.detail = c.serverSays(resp)
	}
	return e
}

// precondition returns the name of the condition in a DAV:error body,
// such as "no-uid-conflict", or "" when the body is not one.
func precondition(resp *http.Response) string {
	var body struct {
		XMLName    xml.Name
		Conditions []struct{ XMLName xml.Name } `xml:",any"`
	}
	err := xml.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&body)
	if err != nil || body.XMLName.Space != "DAV:" || body.XMLName.Local != "error" || len(body.Conditions) == 0 {
		return ""
	}
	return body.Conditions[0].XMLName.Local
}

// serverSays is the start of a plain-text error body, which often names
// the offending property, without the secrets the server may quote back
// (the Authorization header, say).
func (c *client) serverSays(resp *http.Response) string {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return c.redact.Quote(b, maxQuote)
}

// maxErrorBody bounds what is read of an error body, and maxQuote what
// an error quotes of it.
const (
	maxErrorBody = 4 << 10
	maxQuote     = 200
)

// netError is an error of the client's Do without the URL, which
// transportError names, and without the secrets the server may have put
// in what net/http says (a malformed status line). A redirect's error is
// the sink's own, and names the server's part redacted already.
func (c *client) netError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var re *redirectError
	if errors.As(err, &re) {
		return err
	}
	return c.redact.Error(err)
}

// transportError wraps a failed request. Unless the run itself was
// cancelled, the server is taken as unavailable for the rest of the run:
// one that cannot be reached, times out or drops connections would make
// every card of the batch wait out the same failure.
func (c *client) transportError(req *http.Request, err error) error {
	if req.Context().Err() == nil {
		return fmt.Errorf("carddav: %s %s: %w: %w", req.Method, c.shown(req.URL.String()), sinks.ErrUnavailable, err)
	}
	return fmt.Errorf("carddav: %s %s: %w", req.Method, c.shown(req.URL.String()), err)
}
