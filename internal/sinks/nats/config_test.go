package nats

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// The connection settings are natsconn's, checked there; their errors
// come out as the sinks' kind, with the same keys.
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // the FieldError, "" for valid
	}{
		{"defaults with a url", func(c *Config) {}, ""},
		{"no url", func(c *Config) { c.URLs = nil }, "urls: is required: at least one server, such as nats://127.0.0.1:4222"},
		{"bare host", func(c *Config) { c.URLs = []string{"nats://a", "a:4222"} }, "urls[1]: must be a nats://, tls://, ws:// or wss:// URL with a host (nats://host:4222)"},
		{"two ways", func(c *Config) { c.CredsFile, c.Token = "/c", secret.New("t") }, "token: set one way to authenticate, not creds_file and token"},
		{"stream with a dot", func(c *Config) { c.Stream = "A.B" }, `stream: "A.B" is not a stream name: one word without spaces, '.', '*', '>', '/' or '\'`},
		{"empty stream", func(c *Config) { c.Stream = "" }, `stream: "" is not a stream name: one word without spaces, '.', '*', '>', '/' or '\'`},
		{"prefix with two tokens", func(c *Config) { c.SubjectPrefix = "acme.crm" }, ""},
		{"prefix with a wildcard", func(c *Config) { c.SubjectPrefix = "acme.*" }, `subject_prefix: "acme.*" is not a subject prefix: tokens separated by '.', none empty, without spaces, '*' or '>'`},
		{"prefix with an empty token", func(c *Config) { c.SubjectPrefix = "acme." }, `subject_prefix: "acme." is not a subject prefix: tokens separated by '.', none empty, without spaces, '*' or '>'`},
		{"replicas", func(c *Config) { c.Replicas = 6 }, "replicas: must be 1 to 5, not 6"},
		{"max_age negative", func(c *Config) { c.MaxAge = -time.Second }, "max_age: must not be negative (0 keeps events until other limits remove them)"},
		{"max_age unlimited", func(c *Config) { c.MaxAge = 0 }, ""},
		{"duplicate_window zero", func(c *Config) { c.DuplicateWindow = 0 }, "duplicate_window: must be positive"},
		{"duplicate_window too long", func(c *Config) { c.MaxAge = time.Hour }, "duplicate_window: must not be longer than max_age 1h0m0s"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "timeout: must be positive"},
		{"concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency: must be 1 to 4096, not 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.URLs = []string{"nats://127.0.0.1:4222"}
			tt.edit(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *sinks.FieldError
			if !errors.As(err, &fe) || err.Error() != tt.want {
				t.Fatalf("Validate: %v\nwant %s", err, tt.want)
			}
		})
	}
}

// The target is the stream and the subjects: neither the servers (a node
// added, a new address) nor the credentials start the sink over.
func TestTarget(t *testing.T) {
	c := DefaultConfig()
	c.URLs = []string{"nats://b:4222", "nats://a:4222", "tls://b:4222"}
	c.User, c.Password = "alice", secret.New("hunter2-secret")
	want := "nats:CONNECT/connect.default.contact.*"
	if got := c.Target(); got != want {
		t.Errorf("Target = %s, want %s", got, want)
	}
	c.URLs = []string{"nats://nats1.example.com:4222", "nats://10.0.0.9:4222"}
	if got := c.Target(); got != want {
		t.Errorf("other servers: Target = %s, want %s", got, want)
	}
	c.Stream, c.Workspace = "EVENTS", "sales"
	if got, want := c.Target(), "nats:EVENTS/connect.sales.contact.*"; got != want {
		t.Errorf("Target = %s, want %s", got, want)
	}
}

// Open reads the files the settings name (natsconn tests each), and a
// wrong one is an error naming the key, never the secret.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	if err := os.WriteFile(good, []byte(" tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.TokenFile = good }, ""},
		{func(c *Config) { c.TokenFile = filepath.Join(dir, "missing") }, "nats: token_file: open "},
		{func(c *Config) { c.CredsFile = good }, "nats: creds_file " + good + ": "},
		{func(c *Config) { c.TLSCAFile = good }, "nats: tls_ca_file " + good + ": no PEM certificate"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		c.URLs = []string{"nats://127.0.0.1:4222"}
		tt.edit(c)
		s, err := c.Open(sinks.Env{})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Open: %v", err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("Open: %v, want %s…", err, tt.want)
		case err != nil && strings.Contains(err.Error(), "tok-123"):
			t.Errorf("the secret is in the error: %v", err)
		}
		if s != nil {
			s.(*Sink).Close()
		}
	}
}
