package nats

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	natsclient "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Config is a nats sink's entry in the config file.
type Config struct {
	// URLs are the servers to connect to (nats://, tls://, ws:// or
	// wss://host:port); the client also learns the rest of a cluster from
	// the one it reaches. Credentials do not go here but in the keys below.
	URLs []string `yaml:"urls"`

	// At most one way to authenticate: a credentials file (a user JWT and
	// its nkey seed), an nkey seed file, a token, or a user and password.
	CredsFile    string        `yaml:"creds_file"`
	NkeyFile     string        `yaml:"nkey_file"`
	Token        secret.String `yaml:"token"`
	TokenFile    string        `yaml:"token_file"`
	User         string        `yaml:"user"`
	Password     secret.String `yaml:"password"`
	PasswordFile string        `yaml:"password_file"`
	// TLSCAFile is a PEM file of the CAs the server's certificate must
	// chain to, for a private CA; setting it requires TLS.
	TLSCAFile string `yaml:"tls_ca_file"`

	// Stream is the JetStream stream that stores the events. It is created
	// when missing, with the subjects "<subject_prefix>.>" and the three
	// settings below; an existing stream is used as it is, provided it
	// takes the sink's subjects. One nats sink per stream (internal/config
	// checks it): the stream keeps one message per change id.
	Stream          string        `yaml:"stream"`
	Replicas        int           `yaml:"replicas"`
	MaxAge          time.Duration `yaml:"max_age"`
	DuplicateWindow time.Duration `yaml:"duplicate_window"`

	// SubjectPrefix and Workspace make the subjects:
	// "<subject_prefix>.<workspace>.contact.<created|updated|deleted>".
	// The events name Workspace too. internal/config sets it to the name
	// of the sink's workspace unless the entry has the key, which stays
	// for configs written before there were workspaces.
	SubjectPrefix string `yaml:"subject_prefix"`
	Workspace     string `yaml:"workspace"`

	// Timeout bounds connecting, to any of the urls in turn, as a whole,
	// and the wait for each publish acknowledgement.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is how many publishes await their acknowledgement at
	// once.
	Concurrency int `yaml:"concurrency"`
}

// DefaultConfig returns the settings that apply before the entry is decoded.
func DefaultConfig() *Config {
	return &Config{
		Stream:          "CONNECT",
		Replicas:        1,
		MaxAge:          7 * 24 * time.Hour,
		DuplicateWindow: 24 * time.Hour,
		SubjectPrefix:   "connect",
		Workspace:       "default",
		Timeout:         10 * time.Second,
		Concurrency:     256,
	}
}

// schemes are the URL schemes the client speaks.
var schemes = []string{"nats", "tls", "ws", "wss"}

// Validate checks the settings; errors are *sinks.FieldError. The files
// named are read by Open.
func (c *Config) Validate() error {
	for _, check := range []func() error{c.validateURLs, c.validateAuth, c.validateNames, c.validateNumbers} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validateURLs() error {
	if len(c.URLs) == 0 {
		return &sinks.FieldError{Key: "urls", Err: errors.New("is required: at least one server, such as nats://127.0.0.1:4222")}
	}
	for i, raw := range c.URLs {
		key := fmt.Sprintf("urls[%d]", i)
		u, err := url.Parse(raw)
		if err != nil {
			// url.Error repeats the URL, which may hold credentials.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return &sinks.FieldError{Key: key, Err: fmt.Errorf("is not a URL: %w", err)}
		}
		switch {
		case !slices.Contains(schemes, u.Scheme) || u.Host == "":
			return &sinks.FieldError{Key: key, Err: errors.New("must be a nats://, tls://, ws:// or wss:// URL with a host (nats://host:4222)")}
		case u.User != nil:
			return &sinks.FieldError{Key: key, Err: errors.New("must not hold credentials: use creds_file, nkey_file, token or user and password")}
		case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
			return &sinks.FieldError{Key: key, Err: errors.New("must be only a scheme, a host and a port")}
		}
	}
	return nil
}

func (c *Config) validateAuth() error {
	switch {
	case !c.Token.IsZero() && c.TokenFile != "":
		return &sinks.FieldError{Key: "token_file", Err: errors.New("set token or token_file, not both")}
	case !c.Password.IsZero() && c.PasswordFile != "":
		return &sinks.FieldError{Key: "password_file", Err: errors.New("set password or password_file, not both")}
	case c.User == "" && (!c.Password.IsZero() || c.PasswordFile != ""):
		return &sinks.FieldError{Key: "user", Err: errors.New("is required with a password")}
	case c.User != "" && c.Password.IsZero() && c.PasswordFile == "":
		return &sinks.FieldError{Key: "password", Err: errors.New("is required with user (or password_file)")}
	}
	var set []string
	for key, on := range map[string]bool{
		"creds_file": c.CredsFile != "",
		"nkey_file":  c.NkeyFile != "",
		"token":      !c.Token.IsZero() || c.TokenFile != "",
		"user":       c.User != "",
	} {
		if on {
			set = append(set, key)
		}
	}
	if len(set) > 1 {
		slices.Sort(set)
		return &sinks.FieldError{Key: set[1], Err: fmt.Errorf("set one way to authenticate, not %s", strings.Join(set, " and "))}
	}
	return nil
}

func (c *Config) validateNames() error {
	if c.Stream == "" || strings.ContainsAny(c.Stream, " \t\r\n.*>/\\") {
		return &sinks.FieldError{Key: "stream", Err: fmt.Errorf("%q is not a stream name: one word without spaces, '.', '*', '>', '/' or '\\'", c.Stream)}
	}
	for _, token := range strings.Split(c.SubjectPrefix, ".") {
		if !validToken(token) {
			return &sinks.FieldError{Key: "subject_prefix", Err: fmt.Errorf("%q is not a subject prefix: tokens separated by '.', none empty, without spaces, '*' or '>'", c.SubjectPrefix)}
		}
	}
	if !validToken(c.Workspace) || strings.Contains(c.Workspace, ".") {
		return &sinks.FieldError{Key: "workspace", Err: fmt.Errorf("%q is not one subject token: not empty, without spaces, '.', '*' or '>'", c.Workspace)}
	}
	return nil
}

// validToken reports whether s can stand between the dots of a subject.
func validToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n*>") && !strings.ContainsRune(s, 0)
}

func (c *Config) validateNumbers() error {
	switch {
	case c.Replicas < 1 || c.Replicas > 5:
		return &sinks.FieldError{Key: "replicas", Err: fmt.Errorf("must be 1 to 5, not %d", c.Replicas)}
	case c.MaxAge < 0:
		return &sinks.FieldError{Key: "max_age", Err: errors.New("must not be negative (0 keeps events until other limits remove them)")}
	case c.DuplicateWindow <= 0:
		return &sinks.FieldError{Key: "duplicate_window", Err: errors.New("must be positive")}
	case c.MaxAge > 0 && c.DuplicateWindow > c.MaxAge:
		return &sinks.FieldError{Key: "duplicate_window", Err: fmt.Errorf("must not be longer than max_age %v", c.MaxAge)}
	case c.Timeout <= 0:
		return &sinks.FieldError{Key: "timeout", Err: errors.New("must be positive")}
	case c.Concurrency < 1 || c.Concurrency > 4096:
		return &sinks.FieldError{Key: "concurrency", Err: fmt.Errorf("must be 1 to 4096, not %d", c.Concurrency)}
	}
	return nil
}

// Target names the stream and the subjects, not the servers: a node
// added to urls, or a server moved to another address or a DNS name, is
// the same stream and does not start the sink over. Another stream,
// prefix or workspace does, with every contact.
func (c *Config) Target() string {
	return "nats:" + c.Stream + "/" + c.subjectBase() + "*"
}

// subjectBase is every subject of the sink but its last token.
func (c *Config) subjectBase() string {
	return c.SubjectPrefix + "." + c.Workspace + ".contact."
}

// streamConfig is the stream created when it is missing.
func (c *Config) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        c.Stream,
		Description: "contact changes published by connect-sync",
		Subjects:    []string{c.SubjectPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
		MaxAge:      c.MaxAge,
		Duplicates:  c.DuplicateWindow,
	}
}

// Open creates the sink: it reads and parses every file the settings name
// (creds_file, nkey_file, token_file, password_file, tls_ca_file), so that
// a wrong one is a config error naming its key rather than a failure of
// every run, and prepares the connection options. It does not connect: the first
// Deliver does, so that a server that is down stops this sink only. The
// events name c.Workspace, the workspace of the subjects, rather than
// env.Workspace, so that the two always agree.
func (c *Config) Open(env sinks.Env) (sinks.Sink, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	auth, err := c.auth()
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{
		servers:     strings.Join(c.URLs, ","),
		target:      c.Target(),
		stream:      c.streamConfig(),
		subjects:    c.subjectBase(),
		workspace:   c.Workspace,
		timeout:     c.Timeout,
		concurrency: c.Concurrency,
		logger:      logger,
	}
	s.options = append(auth,
		natsclient.Name("connect-sync"),
		natsclient.Timeout(c.Timeout),
		// The dialer resolves names within the connect's deadline.
		natsclient.SkipHostLookup(),
		// A run that lost its server fails its publishes and tries again
		// next run, so reconnecting need not last long.
		natsclient.MaxReconnects(5),
		natsclient.ReconnectWait(time.Second),
		natsclient.NoCallbacksAfterClientClose(),
		natsclient.ErrorHandler(s.asyncError),
	)
	if c.TLSCAFile != "" {
		tlsOpt, err := readCAs(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("nats: %w", err)
		}
		s.options = append(s.options, tlsOpt)
	}
	return s, nil
}

// auth returns the connection options that authenticate, reading the
// files that hold secrets.
func (c *Config) auth() ([]natsclient.Option, error) {
	switch {
	case c.CredsFile != "":
		opt, err := readCreds(c.CredsFile)
		if err != nil {
			return nil, err
		}
		return []natsclient.Option{opt}, nil
	case c.NkeyFile != "":
		opt, err := natsclient.NkeyOptionFromSeed(c.NkeyFile)
		if err != nil {
			return nil, fmt.Errorf("nkey_file %s: %w", c.NkeyFile, err)
		}
		return []natsclient.Option{opt}, nil
	case !c.Token.IsZero() || c.TokenFile != "":
		token, err := readSecret(c.Token, "token_file", c.TokenFile)
		if err != nil {
			return nil, err
		}
		return []natsclient.Option{natsclient.Token(token)}, nil
	case c.User != "":
		password, err := readSecret(c.Password, "password_file", c.PasswordFile)
		if err != nil {
			return nil, err
		}
		return []natsclient.Option{natsclient.UserInfo(c.User, password)}, nil
	}
	return nil, nil
}

// readSecret returns value, or the content of file (whitespace trimmed)
// when file is set.
func readSecret(value secret.String, key, file string) (string, error) {
	if file == "" {
		return value.Reveal(), nil
	}
	s, err := secret.ReadFile(file)
	switch {
	case errors.Is(err, secret.ErrEmpty):
		return "", fmt.Errorf("%s %s: %w", key, file, err)
	case err != nil:
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return s.Reveal(), nil
}

// readCreds reads a credentials file and checks that it holds a user JWT
// and an nkey seed that signs.
func readCreds(file string) (natsclient.Option, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("creds_file: %w", err)
	}
	opt := natsclient.UserCredentialBytes(data)
	o := natsclient.GetDefaultOptions()
	if err := opt(&o); err != nil {
		return nil, fmt.Errorf("creds_file %s: %w", file, err)
	}
	// The errors say what is missing, never the file's content.
	if _, err := o.UserJWT(); err != nil {
		return nil, fmt.Errorf("creds_file %s: no user JWT: %w", file, err)
	}
	if _, err := o.SignatureCB([]byte("connect-sync")); err != nil {
		return nil, fmt.Errorf("creds_file %s: no nkey seed: %w", file, err)
	}
	return opt, nil
}

// readCAs reads a PEM file of CAs into the TLS settings, which require
// TLS of every server.
func readCAs(file string) (natsclient.Option, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("tls_ca_file %s: no PEM certificate", file)
	}
	return natsclient.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}), nil
}
