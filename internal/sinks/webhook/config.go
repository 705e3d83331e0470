package webhook

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/connect-sync/connect-sync/internal/backoff"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Config is a webhook sink's entry in the config file.
type Config struct {
	// URL receives the POSTs: an http or https URL.
	URL string `yaml:"url"`
	// Secret is the Standard Webhooks signing secret: "whsec_" followed by
	// the base64 of 24 to 64 random bytes.
	Secret secret.String `yaml:"secret"`
	// SecretFile holds the secret instead; Open reads it, surrounding
	// whitespace trimmed. One of Secret and SecretFile is required.
	SecretFile string `yaml:"secret_file"`
	// Events lists the kinds of change sent, as "created" or
	// "contact.created"; empty means all three. Changes of other kinds are
	// acknowledged without a request.
	Events []string `yaml:"events"`
	// Headers are added to every request. Their values are secrets, since
	// they often carry a token.
	Headers map[string]secret.String `yaml:"headers"`
	// Timeout bounds each attempt, the response included.
	Timeout time.Duration `yaml:"timeout"`
	// BatchSize is how many events one request carries; above 1 they go
	// as one "contact.batch" event.
	BatchSize int `yaml:"batch_size"`
	// Concurrency is how many requests are in flight at once.
	Concurrency int `yaml:"concurrency"`
	// MaxAge is how long a change may keep failing before it moves to the
	// dead letters.
	MaxAge time.Duration `yaml:"max_age"`
	// MaxRetries is how often an attempt that failed transiently is
	// repeated within one delivery.
	MaxRetries int `yaml:"max_retries"`
	// TLSCAFile is a PEM file of the CAs that the receiver's certificate
	// must chain to, in place of the system's; for a private CA.
	TLSCAFile string `yaml:"tls_ca_file"`
}

// DefaultConfig returns the settings that apply before the entry is decoded.
func DefaultConfig() *Config {
	return &Config{
		Timeout:     10 * time.Second,
		BatchSize:   1,
		Concurrency: 4,
		MaxAge:      72 * time.Hour,
		MaxRetries:  3,
	}
}

// reservedHeaders are set by the sink or by net/http, so a configured
// value would be overwritten or would corrupt the request.
var reservedHeaders = []string{
	"Content-Type", "Content-Length", "Host", "Connection", "Transfer-Encoding",
	"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature",
}

// Validate checks the settings; errors are *sinks.FieldError. A secret in
// secret_file is checked by Open, which reads it.
func (c *Config) Validate() error {
	if err := c.validateURL(); err != nil {
		return err
	}
	if err := c.validateSecret(); err != nil {
		return err
	}
	if _, err := parseEvents(c.Events); err != nil {
		return err
	}
	if err := validateHeaders(c.Headers); err != nil {
		return err
	}
	return c.validateNumbers()
}

func (c *Config) validateURL() error {
	if c.URL == "" {
		return &sinks.FieldError{Key: "url", Err: errors.New("is required")}
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		// url.Error repeats the URL, which may hold credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &sinks.FieldError{Key: "url", Err: fmt.Errorf("is not a URL: %w", err)}
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &sinks.FieldError{Key: "url", Err: errors.New("must be an http or https URL (https://host/path)")}
	}
	if c.TLSCAFile != "" && u.Scheme != "https" {
		return &sinks.FieldError{Key: "tls_ca_file", Err: errors.New("applies to an https url only")}
	}
	return nil
}

func (c *Config) validateSecret() error {
	switch {
	case !c.Secret.IsZero() && c.SecretFile != "":
		return &sinks.FieldError{Key: "secret_file", Err: errors.New("set secret or secret_file, not both")}
	case c.SecretFile != "":
		return nil
	case c.Secret.IsZero():
		return &sinks.FieldError{Key: "secret", Err: errors.New("is required (or secret_file): receivers must be able to verify the requests")}
	}
	if _, err := parseSecret(c.Secret.Reveal()); err != nil {
		return &sinks.FieldError{Key: "secret", Err: err}
	}
	return nil
}

func (c *Config) validateNumbers() error {
	switch {
	case c.Timeout <= 0:
		return &sinks.FieldError{Key: "timeout", Err: errors.New("must be positive")}
	case c.BatchSize < 1:
		return &sinks.FieldError{Key: "batch_size", Err: fmt.Errorf("must be at least 1, not %d", c.BatchSize)}
	case c.Concurrency < 1:
		return &sinks.FieldError{Key: "concurrency", Err: fmt.Errorf("must be at least 1, not %d", c.Concurrency)}
	case c.MaxAge <= 0:
		return &sinks.FieldError{Key: "max_age", Err: errors.New("must be positive")}
	case c.MaxRetries < 0:
		return &sinks.FieldError{Key: "max_retries", Err: errors.New("must not be negative")}
	}
	return nil
}

// parseEvents reads the events setting into the set of kinds to send.
func parseEvents(names []string) (map[contact.Kind]bool, error) {
	kinds := map[contact.Kind]bool{}
	for i, name := range names {
		kind := contact.Kind(strings.TrimPrefix(name, "contact."))
		if _, ok := event.Type(kind); !ok {
			return nil, &sinks.FieldError{
				Key: fmt.Sprintf("events[%d]", i),
				Err: fmt.Errorf("unknown event %q (known: created, updated, deleted)", name),
			}
		}
		kinds[kind] = true
	}
	if len(kinds) == 0 {
		for _, kind := range event.Kinds() {
			kinds[kind] = true
		}
	}
	return kinds, nil
}

func validateHeaders(headers map[string]secret.String) error {
	for name, value := range headers {
		key := "headers." + name
		switch {
		case !validHeaderName(name):
			return &sinks.FieldError{Key: key, Err: errors.New("is not a valid header name")}
		case isReserved(name):
			return &sinks.FieldError{Key: key, Err: errors.New("is set by the sink itself")}
		case strings.ContainsAny(value.Reveal(), "\r\n\x00"):
			return &sinks.FieldError{Key: key, Err: errors.New("value must be one line")}
		}
	}
	return nil
}

func isReserved(name string) bool {
	for _, r := range reservedHeaders {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		ok := r < 0x7f && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("!#$%&'*+-.^_`|~", r))
		if !ok {
			return false
		}
	}
	return true
}

// Target is the URL as shown, followed by a hash of the whole URL: the
// state file keeps the target and `status` and the logs may show it, but
// the path and query often hold the receiver's token (Make, Slack,
// Zapier). Any change to the URL, a rotated token included, starts the
// sink over with every contact, as another receiver would need.
func (c *Config) Target() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(c.URL))
	return shown(u) + " sha256:" + hex.EncodeToString(sum[:16])
}

// FormerTarget is the Target recorded before targets were hashed: the
// URL with its first path segment, which named the same receiver. The
// engine takes it for this Target rather than starting the sink over.
func (c *Config) FormerTarget() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	first, rest, _ := strings.Cut(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	out := u.Scheme + "://" + u.Host
	if first != "" {
		out += "/" + first
	}
	switch {
	case rest != "":
		out += "/…"
	case u.RawQuery != "" || u.Fragment != "":
		out += "?…"
	}
	return out
}

// shown is how a URL appears in errors, logs and the state: its scheme
// and host, and "/…" when more follows. Userinfo, the path, the query and
// the fragment may each hold a secret.
func shown(u *url.URL) string {
	out := u.Scheme + "://" + u.Host
	if strings.Trim(u.EscapedPath(), "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		out += "/…"
	}
	return out
}

// Secrets returns what the receiver, or another server, may quote back
// that must not be shown: the signing secret, the credentials the
// requests carry (credentials) and the URL's password. The URL's tokens
// are the sink's own to redact (urlTokens), from what its receiver says
// only. A secret_file that cannot be read is left out (Open reports it).
func (c *Config) Secrets() []secret.String {
	var out []secret.String
	if s, err := secret.Read(c.Secret, c.SecretFile); err == nil {
		out = append(out, s)
	}
	return append(out, c.credentials()...)
}

// credentials are the header values that are credentials (credentialHeader,
// or a value that looks like a token) and the URL's password. Other
// header values ("application/json", "en") are not: redacted, they would
// blank out those words in every message.
func (c *Config) credentials() []secret.String {
	var out []secret.String
	for name, value := range c.Headers {
		if credentialHeader(name) || tokenLike(value.Reveal()) {
			out = append(out, value)
		}
	}
	if u, err := url.Parse(c.URL); err == nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, secret.New(p))
		}
	}
	return out
}

// credentialHeader reports whether a header's name says it carries a
// credential: Authorization, Cookie, or any name with auth, key, token,
// secret, signature, password, session or credential in it (X-Api-Key,
// X-Auth-Token).
func credentialHeader(name string) bool {
	name = strings.ToLower(name)
	if name == "cookie" {
		return true
	}
	for _, word := range []string{"auth", "key", "token", "secret", "signature", "password", "session", "credential"} {
		if strings.Contains(name, word) {
			return true
		}
	}
	return false
}

// urlTokens are the path segments and query values of u that look like
// tokens (tokenLike), decoded: Make's, Slack's and Zapier's URLs carry
// the receiver's token there. The other segments and values ("api",
// "v1", "hooks") are left alone, so that a receiver's message keeps those
// words.
func urlTokens(u *url.URL) []secret.String {
	var out []secret.String
	for _, segment := range strings.Split(u.Path, "/") {
		if tokenLike(segment) {
			out = append(out, secret.New(segment))
		}
	}
	for _, values := range u.Query() {
		for _, v := range values {
			if tokenLike(v) {
				out = append(out, secret.New(v))
			}
		}
	}
	return out
}

// tokenLike reports whether s holds what looks like a token rather than
// words: a run of at least 16 characters without white space and with a
// digit or a capital letter in it, or of at least 6 with two letters and
// two digits (Zapier's "3gj8qqm", "tok123"). Lowercase words
// ("salesforce-contacts-sync", "application/json") are not: a token is
// found by any 8 of its characters, and their words ("contacts") would be
// blanked out wherever they appear.
func tokenLike(s string) bool {
	for _, run := range strings.Fields(s) {
		var letters, digits, capitals int
		for _, r := range run {
			switch {
			case unicode.IsDigit(r):
				digits++
			case unicode.IsUpper(r):
				letters++
				capitals++
			case unicode.IsLetter(r):
				letters++
			}
		}
		n := utf8.RuneCountInString(run)
		if n >= 16 && digits+capitals > 0 || n >= 6 && letters >= 2 && digits >= 2 {
			return true
		}
	}
	return false
}

// Open creates the sink: it reads secret_file and tls_ca_file and makes
// the HTTP client that every delivery reuses. Nothing is sent. Its events
// name env.Workspace.
func (c *Config) Open(env sinks.Env) (sinks.Sink, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	signing, key, err := c.key()
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	roots, err := c.roots()
	if err != nil {
		return nil, fmt.Errorf("webhook: tls_ca_file %s: %w", c.TLSCAFile, err)
	}
	events, _ := parseEvents(c.Events)
	headers := http.Header{"User-Agent": {"connect-sync"}}
	for name, value := range c.Headers {
		headers.Set(name, value.Reveal())
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u, _ := url.Parse(c.URL) // valid: checked above
	// The secrets read above, and the URL's tokens, which are this sink's
	// alone to look for: only its receiver's words are searched for them.
	own := append(c.credentials(), signing)
	own = append(own, urlTokens(u)...)
	return &Sink{
		url:        c.URL,
		target:     shown(u),
		redact:     env.Redactor.With(own...),
		workspace:  env.Workspace,
		sign:       newSigner(key),
		events:     events,
		headers:    headers,
		timeout:    c.Timeout,
		maxAge:     c.MaxAge,
		batchSize:  c.BatchSize,
		maxRetries: c.MaxRetries,
		client:     newClient(roots, c.Concurrency),
		pool:       sinks.Pool{Workers: c.Concurrency, Logger: logger},
		logger:     logger,
		sleep:      backoff.Sleep,
		now:        time.Now,
	}, nil
}

// key returns the secret of secret or secret_file, and its signing key.
func (c *Config) key() (secret.String, []byte, error) {
	s, err := secret.Read(c.Secret, c.SecretFile)
	if err != nil {
		return secret.String{}, nil, fmt.Errorf("secret_file: %w", err)
	}
	key, err := parseSecret(s.Reveal())
	if err != nil && c.SecretFile != "" {
		return secret.String{}, nil, fmt.Errorf("secret_file %s: %w", c.SecretFile, err)
	}
	return s, key, err
}

// roots returns the CAs of tls_ca_file, or nil for the system's.
func (c *Config) roots() (*x509.CertPool, error) {
	if c.TLSCAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.TLSCAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("holds no PEM certificate")
	}
	return pool, nil
}
