// Package carddav is the carddav sink: one vCard per contact in a CardDAV
// address book (RFC 6352) on Nextcloud, Radicale, Baikal, Fastmail, iCloud
// or Xandikos. Writes are conditional (If-None-Match, If-Match, RFC 7232)
// and each card's href and ETag are kept in the sink's memo, so a card
// changed on the server is never overwritten unknowingly.
package carddav

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// The conflict policies: what to do when a card changed on the server
// since the sink last wrote it.
const (
	Overwrite = "overwrite" // Connect is the source of truth
	Skip      = "skip"      // leave the server's card; the change is dead-lettered
)

// maxConcurrency bounds concurrency: servers serialize writes, so more
// connections only help against latency, and a few cover that.
const maxConcurrency = 16

// Config is a carddav sink's entry in the config file.
type Config struct {
	// URL is the address book collection. Either it or Server is set.
	URL string `yaml:"url"`
	// Server is where discovery starts (/.well-known/carddav, the current
	// user's principal, its address book home set).
	Server string `yaml:"server"`
	// AddressBook picks the book found through Server, by display name or
	// path; it also names a book that CreateAddressBook creates.
	AddressBook string `yaml:"addressbook"`

	Username        string        `yaml:"username"`
	Password        secret.String `yaml:"password"`
	PasswordFile    string        `yaml:"password_file"`
	BearerToken     secret.String `yaml:"bearer_token"`
	BearerTokenFile string        `yaml:"bearer_token_file"`
	// TLSCAFile is a PEM file of CA certificates trusted besides the
	// system's, for a server with a private CA or a self-signed certificate.
	TLSCAFile string `yaml:"tls_ca_file"`

	// CreateAddressBook creates the book with an extended MKCOL (RFC 5689)
	// when it is missing.
	CreateAddressBook bool   `yaml:"create_addressbook"`
	ConflictPolicy    string `yaml:"conflict_policy"`
	// Concurrency is how many requests are in flight at once, each on its
	// own kept-alive connection. The default, 4, costs nothing against a
	// server that serializes writes and hides most of a remote server's
	// round trip (measured: 15 PUT/s with 1, 53 with 4, 49 with 8 against
	// Radicale behind 50 ms; on loopback, 1 and 4 give the same 57 to 87
	// PUT/s, the server's own rate, run to run).
	Concurrency int `yaml:"concurrency"`
	// Version is the vCard version written: "3.0" or "4.0".
	Version string `yaml:"version"`
	// Timeout bounds each request, reading the whole response included
	// (the book's listing gets at least minListingTime); a request past
	// it stops the sink for the run.
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultTimeout is the timeout unless the config sets one: a card's
// request takes milliseconds, seconds on a busy server.
const DefaultTimeout = 30 * time.Second

// DefaultConfig returns the settings that apply before the entry is decoded.
func DefaultConfig() *Config {
	return &Config{ConflictPolicy: Overwrite, Concurrency: 4, Version: card.Version3, Timeout: DefaultTimeout}
}

// Validate checks the settings; errors are *sinks.FieldError.
func (c *Config) Validate() error {
	switch {
	case c.URL == "" && c.Server == "":
		return fieldError("url", "is required (or server and addressbook)")
	case c.URL != "" && c.Server != "":
		return fieldError("server", "cannot be set with url")
	case c.Server != "" && strings.TrimSpace(c.AddressBook) == "":
		return fieldError("addressbook", "is required with server")
	case c.URL != "" && c.AddressBook != "":
		return fieldError("addressbook", "goes with server, not url")
	}
	for key, value := range map[string]string{"url": c.URL, "server": c.Server} {
		if err := checkURL(value); value != "" && err != nil {
			return &sinks.FieldError{Key: key, Err: err}
		}
	}
	if err := c.validateCredentials(); err != nil {
		return err
	}
	if c.ConflictPolicy != Overwrite && c.ConflictPolicy != Skip {
		return fieldError("conflict_policy", fmt.Sprintf("must be %q or %q, not %q", Overwrite, Skip, c.ConflictPolicy))
	}
	if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
		return fieldError("concurrency", fmt.Sprintf("must be from 1 to %d, not %d", maxConcurrency, c.Concurrency))
	}
	if c.Timeout <= 0 {
		return fieldError("timeout", fmt.Sprintf("must be positive, not %v", c.Timeout))
	}
	if c.Version != card.Version3 && c.Version != card.Version4 {
		return fieldError("version", fmt.Sprintf("must be \"3.0\" or \"4.0\", not %q", c.Version))
	}
	return nil
}

func (c *Config) validateCredentials() error {
	basic := !c.Password.IsZero() || c.PasswordFile != ""
	bearer := !c.BearerToken.IsZero() || c.BearerTokenFile != ""
	switch {
	case !c.Password.IsZero() && c.PasswordFile != "":
		return fieldError("password_file", "cannot be set with password")
	case !c.BearerToken.IsZero() && c.BearerTokenFile != "":
		return fieldError("bearer_token_file", "cannot be set with bearer_token")
	case basic && c.Username == "":
		return fieldError("username", "is required with a password")
	case c.Username != "" && !basic:
		return fieldError("password", "is required with username (or password_file)")
	case basic && bearer:
		return fieldError("bearer_token", "cannot be set with username and password")
	}
	return nil
}

// checkURL accepts an absolute http or https URL without credentials,
// which belong in their own keys where they are never printed.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		// Not quoted: a mistyped URL may hold a password.
		return errors.New("must be an http or https URL (https://host/path/)")
	case u.User != nil:
		return errors.New("must not hold credentials: use username and password")
	}
	return nil
}

func fieldError(key, msg string) *sinks.FieldError {
	return &sinks.FieldError{Key: key, Err: errors.New(msg)}
}

// Format names the vCard version the cards are written in.
func (c *Config) Format() string { return "vcard " + c.Version }

// Target is the address book's URL or, with discovery, the server, user
// and book, so that pointing the sink at another book starts it over.
func (c *Config) Target() string {
	if c.URL != "" {
		return c.URL
	}
	u, err := url.Parse(c.Server)
	if err != nil {
		return c.Server + "#" + c.AddressBook
	}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	u.Fragment = c.AddressBook
	return u.String()
}

// Clash refuses a second sink on the address book: each would delete the
// contacts the other wrote. The target is not shown: it may hold a user
// name.
func (c *Config) Clash(other sinks.Neighbour) *sinks.FieldError {
	if o, ok := other.Config.(*Config); !ok || o.Target() != c.Target() {
		return nil
	}
	key := "url"
	if c.URL == "" {
		key = "addressbook"
	}
	return sinks.SharedDestination(key, "address book", other)
}

// Open creates the sink. It sends nothing: the first delivery finds the
// address book, so a server that is down stops this sink alone.
func (c *Config) Open(env sinks.Env) (sinks.Sink, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("carddav: %w", err)
	}
	auth, secrets, err := c.credentials()
	if err != nil {
		return nil, fmt.Errorf("carddav: %w", err)
	}
	client, err := newHTTPClient(c, auth, env.Redactor.With(secrets...))
	if err != nil {
		return nil, fmt.Errorf("carddav: %w", err)
	}
	conflict := env.Conflict
	if conflict == nil {
		conflict = func(string) {}
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sink{
		cfg:      *c,
		client:   client,
		memo:     env.Memo,
		logger:   logger,
		opts:     card.Options{Version: c.Version, SourceURL: env.SourceURL},
		conflict: conflict,
		pool:     sinks.Pool{Workers: c.Concurrency, Logger: logger},
	}, nil
}

// credentials returns the Authorization header value, empty for none,
// and the secrets a server may quote back that must not be shown: the
// password or the bearer token, and the header made of it. It reads the
// files that hold them; on an error, the secrets read before it.
func (c *Config) credentials() (auth secret.String, secrets []secret.String, err error) {
	password, err := readSecret(c.Password, c.PasswordFile, "password_file")
	if err != nil {
		return secret.String{}, nil, err
	}
	if c.Username != "" {
		auth = basicAuth(c.Username, password)
		return auth, []secret.String{password, auth}, nil
	}
	token, err := readSecret(c.BearerToken, c.BearerTokenFile, "bearer_token_file")
	if err != nil || token.IsZero() {
		return secret.String{}, nil, err
	}
	return secret.New("Bearer " + token.Reveal()), []secret.String{token}, nil
}

// Secrets returns credentials' secrets. A file that cannot be read is
// left out (Open reports it).
func (c *Config) Secrets() []secret.String {
	_, secrets, _ := c.credentials()
	return secrets
}

// readSecret is secret.Read, its error on key.
func readSecret(value secret.String, file, key string) (secret.String, error) {
	s, err := secret.Read(value, file)
	if err != nil {
		return secret.String{}, &sinks.FieldError{Key: key, Err: err}
	}
	return s, nil
}
