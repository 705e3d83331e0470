package nats

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	natsclient "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/natsconn"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// Config is a nats sink's entry in the config file: the connection
// settings (urls, credentials, tls_ca_file, timeout) and the stream's.
type Config struct {
	// Config is the connection settings; its Timeout also bounds the wait
	// for each publish acknowledgement.
	natsconn.Config `yaml:",inline"`

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
	// The events name Workspace too. It defaults to the name of the
	// sink's workspace (DefaultWorkspace); the key stays for configs
	// written before there were workspaces.
	SubjectPrefix string `yaml:"subject_prefix"`
	Workspace     string `yaml:"workspace"`

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
		Config:          natsconn.Config{Timeout: natsconn.DefaultTimeout},
		Concurrency:     256,
	}
}

// Validate checks the settings; errors are *sinks.FieldError. The files
// named are read by Open.
func (c *Config) Validate() error {
	for _, check := range []func() error{c.validateConn, c.validateNames, c.validateNumbers} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateConn checks the connection settings, their errors made the
// sinks' kind.
func (c *Config) validateConn() error {
	err := c.Config.Validate()
	var fe *natsconn.FieldError
	if errors.As(err, &fe) {
		return &sinks.FieldError{Key: fe.Key, Err: fe.Err}
	}
	return err
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

// DefaultWorkspace makes the workspace's name a token of the subjects, so
// that consumers can tell the workspaces' events apart. It is part of the
// config rather than given to Open because it is part of the Target.
func (c *Config) DefaultWorkspace(name string) { c.Workspace = name }

// Clash allows one nats sink per stream within a workspace. Every sink is
// given the same change under the same id, and the stream keeps one
// message per id within its duplicate window: a second sink's copy would
// be dropped yet acknowledged. Sinks on different servers with the same
// stream name are refused too, as nothing here tells two clusters from two
// nodes of one. Another workspace's sink may share the stream: its
// subjects and change ids are its own, but it must share the stream's
// subject prefix (the stream is created with the subjects
// "<subject_prefix>.>", and a sink whose subjects it does not cover would
// fail every run), and not publish on the same subjects, where consumers
// could not tell the workspaces apart.
func (c *Config) Clash(other sinks.Neighbour) *sinks.FieldError {
	o, ok := other.Config.(*Config)
	switch {
	case !ok || o.Stream != c.Stream:
		return nil
	case other.SameWorkspace:
		return &sinks.FieldError{Key: "stream", Err: fmt.Errorf("%q is already the stream of %s: one nats sink per stream (the stream keeps one event per change id, so one sink's events would be dropped)", c.Stream, other.Name)}
	case o.SubjectPrefix != c.SubjectPrefix:
		return &sinks.FieldError{Key: "subject_prefix", Err: fmt.Errorf("%q differs from the %q of %s, which publishes to stream %q too: the sinks of a stream share its prefix", c.SubjectPrefix, o.SubjectPrefix, other.Name, c.Stream)}
	case o.Workspace == c.Workspace:
		return &sinks.FieldError{Key: "workspace", Err: fmt.Errorf("%s publishes on the same subjects (%s.%s.contact.*): give each workspace its own", other.Name, c.SubjectPrefix, c.Workspace)}
	}
	return nil
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
	conn, err := c.Options("connect-sync")
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{
		conn:      conn,
		target:    c.Target(),
		stream:    c.streamConfig(),
		subjects:  c.subjectBase(),
		workspace: c.Workspace,
		timeout:   c.Timeout,
		pool:      sinks.Pool{Workers: c.Concurrency, Logger: logger},
		logger:    logger,
		redact:    env.Redactor.With(conn.Secrets...),
	}
	conn.Client = append(conn.Client, natsclient.ErrorHandler(s.asyncError))
	return s, nil
}
