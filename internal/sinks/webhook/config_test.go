package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

func TestDefaultConfig(t *testing.T) {
	got := DefaultConfig()
	want := &Config{Timeout: 10 * time.Second, BatchSize: 1, Concurrency: 4, MaxAge: 72 * time.Hour, MaxRetries: 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultConfig() = %+v, want %+v", got, want)
	}
}

// decode reads a sink entry the way the config package does: strictly,
// over the defaults.
func decode(t *testing.T, path string) *Config {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestDecode(t *testing.T) {
	cfg := decode(t, "testdata/config/full.yaml")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Config{
		URL: "https://hooks.example.com/connect?token=abc", Events: []string{"contact.created", "updated"},
		Timeout: 15 * time.Second, BatchSize: 50, Concurrency: 8, MaxAge: 168 * time.Hour, MaxRetries: 5,
		TLSCAFile: "/etc/ssl/private-ca.pem",
	}
	got := *cfg
	if got.Secret.Reveal() != testSecret || got.Headers["Authorization"].Reveal() != "Bearer 0123456789" || len(got.Headers) != 2 {
		t.Errorf("secret or headers not decoded: %+v", got)
	}
	got.Secret, got.Headers = secret.String{}, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
	if target := cfg.Target(); !strings.HasPrefix(target, "https://hooks.example.com/… sha256:") {
		t.Errorf("Target() = %s", target)
	}

	cfg = decode(t, "testdata/config/minimal.yaml")
	if err := cfg.Validate(); err != nil || cfg.Concurrency != 4 || cfg.SecretFile == "" {
		t.Errorf("minimal: %v, %+v", err, cfg)
	}
}

func TestValidate(t *testing.T) {
	short := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	tests := []struct {
		name string
		edit func(*Config)
		key  string // the FieldError's key and message; "" for valid
		msg  string
	}{
		{"valid", func(*Config) {}, "", ""},
		{"https and a CA", func(c *Config) { c.URL, c.TLSCAFile = "https://h/x", "ca.pem" }, "", ""},
		{"secret_file alone", func(c *Config) { c.Secret, c.SecretFile = secret.String{}, "/run/secret" }, "", ""},
		{"events both forms", func(c *Config) { c.Events = []string{"deleted", "contact.updated"} }, "", ""},
		{"no url", func(c *Config) { c.URL = "" }, "url", "url: is required"},
		{"bad url", func(c *Config) { c.URL = "http://user:pw@[::1" }, "url", `url: is not a URL: missing ']' in host`},
		{"ftp url", func(c *Config) { c.URL = "ftp://user:pw@example.com/x" }, "url", "url: must be an http or https URL (https://host/path)"},
		{"no host", func(c *Config) { c.URL = "https:///x" }, "url", "url: must be an http or https URL (https://host/path)"},
		{"relative url", func(c *Config) { c.URL = "example.com/hook" }, "url", "url: must be an http or https URL (https://host/path)"},
		{"CA over http", func(c *Config) { c.TLSCAFile = "ca.pem" }, "tls_ca_file", "tls_ca_file: applies to an https url only"},
		{"no secret", func(c *Config) { c.Secret = secret.String{} }, "secret",
			"secret: is required (or secret_file): receivers must be able to verify the requests"},
		{"both secrets", func(c *Config) { c.SecretFile = "/run/secret" }, "secret_file", "secret_file: set secret or secret_file, not both"},
		{"secret without prefix", func(c *Config) { c.Secret = secret.New(strings.TrimPrefix(testSecret, "whsec_")) }, "secret",
			`secret: must start with "whsec_", followed by the base64 of 24 to 64 random bytes`},
		{"secret not base64", func(c *Config) { c.Secret = secret.New("whsec_!!!!") }, "secret", `secret: is not valid base64 after "whsec_"`},
		{"secret too short", func(c *Config) { c.Secret = secret.New(short) }, "secret",
			"secret: decodes to 16 bytes; Standard Webhooks keys have 24 to 64"},
		{"unknown event", func(c *Config) { c.Events = []string{"created", "contact.merged"} }, "events[1]",
			`events[1]: unknown event "contact.merged" (known: created, updated, deleted)`},
		{"reserved header", func(c *Config) { c.Headers = map[string]secret.String{"webhook-signature": secret.New("x")} }, "headers.webhook-signature",
			"headers.webhook-signature: is set by the sink itself"},
		{"content-type header", func(c *Config) { c.Headers = map[string]secret.String{"Content-Type": secret.New("text/plain")} }, "headers.Content-Type",
			"headers.Content-Type: is set by the sink itself"},
		{"host header", func(c *Config) { c.Headers = map[string]secret.String{"HOST": secret.New("x")} }, "headers.HOST", "headers.HOST: is set by the sink itself"},
		{"bad header name", func(c *Config) { c.Headers = map[string]secret.String{"X Tenant": secret.New("x")} }, "headers.X Tenant",
			"headers.X Tenant: is not a valid header name"},
		{"header line break", func(c *Config) { c.Headers = map[string]secret.String{"X-Tenant": secret.New("a\r\nX-Evil: 1")} }, "headers.X-Tenant",
			"headers.X-Tenant: value must be one line"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "timeout", "timeout: must be positive"},
		{"zero batch", func(c *Config) { c.BatchSize = 0 }, "batch_size", "batch_size: must be at least 1, not 0"},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency", "concurrency: must be at least 1, not 0"},
		{"negative max_age", func(c *Config) { c.MaxAge = -time.Hour }, "max_age", "max_age: must be positive"},
		{"negative retries", func(c *Config) { c.MaxRetries = -1 }, "max_retries", "max_retries: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.URL, cfg.Secret = "http://127.0.0.1:8080/hook", secret.New(testSecret)
			tt.edit(cfg)
			err := cfg.Validate()
			if tt.key == "" {
				if err != nil {
					t.Errorf("unexpected error %v", err)
				}
				return
			}
			var fe *sinks.FieldError
			if !errors.As(err, &fe) || fe.Key != tt.key || err.Error() != tt.msg {
				t.Errorf("error %v, want FieldError %q", err, tt.msg)
			}
			if _, err := cfg.Open(sinks.Env{}); err == nil {
				t.Error("Open accepted an invalid config")
			}
		})
	}
}

func TestParseEvents(t *testing.T) {
	all := map[contact.Kind]bool{contact.Created: true, contact.Updated: true, contact.Deleted: true}
	for _, names := range [][]string{nil, {}, {"created", "updated", "deleted"}} {
		if got, err := parseEvents(names); err != nil || !reflect.DeepEqual(got, all) {
			t.Errorf("parseEvents(%q) = %v, %v; want all", names, got, err)
		}
	}
	got, err := parseEvents([]string{"contact.deleted", "deleted"})
	if err != nil || !reflect.DeepEqual(got, map[contact.Kind]bool{contact.Deleted: true}) {
		t.Errorf("deleted twice: %v, %v", got, err)
	}
}

// The target shows the scheme and the host only, and tells URLs apart by
// a hash of the whole URL; the former target, from before the hash, kept
// the first path segment.
func TestTarget(t *testing.T) {
	tests := []struct{ url, shown, former string }{
		{"https://h", "https://h", "https://h"},
		{"https://h/", "https://h", "https://h"},
		{"https://hooks.example.com/connect", "https://hooks.example.com/…", "https://hooks.example.com/connect"},
		{"https://user:pw@hooks.example.com:8443/c", "https://hooks.example.com:8443/…", "https://hooks.example.com:8443/c"},
		{"http://h/c?token=abc&token=def&tenant=acme#fragment", "http://h/…", "http://h/c?…"},
		{"https://h/?token=abc", "https://h/…", "https://h?…"},
		{"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com/…", "https://hooks.slack.com/services/…"},
		{"https://hook.eu1.make.com/abcdefghijklmnopqrstuvwxyz012345", "https://hook.eu1.make.com/…", "https://hook.eu1.make.com/abcdefghijklmnopqrstuvwxyz012345"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		cfg := &Config{URL: tt.url}
		sum := sha256.Sum256([]byte(tt.url))
		if got, want := cfg.Target(), tt.shown+" sha256:"+hex.EncodeToString(sum[:16]); got != want {
			t.Errorf("Target of %s = %s, want %s", tt.url, got, want)
		}
		if other, ok := seen[cfg.Target()]; ok {
			t.Errorf("%s and %s have one target", tt.url, other)
		}
		seen[cfg.Target()] = tt.url
		if got := cfg.FormerTarget(); got != tt.former {
			t.Errorf("FormerTarget of %s = %s, want %s", tt.url, got, tt.former)
		}
	}
	// A token rotated in the path is another target.
	a, b := &Config{URL: "https://hook.eu1.make.com/tokenA"}, &Config{URL: "https://hook.eu1.make.com/tokenB"}
	if a.Target() == b.Target() {
		t.Error("two tokens in the path, one target")
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cfg := DefaultConfig()
	cfg.URL = "http://127.0.0.1/hook"

	cfg.SecretFile = write("good", "  "+testSecret+"\n")
	s, err := cfg.Open(sinks.Env{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := parseSecret(testSecret)
	if got, want := s.(*Sink).sign("msg_1", 1, nil), newSigner(key)("msg_1", 1, nil); got != want {
		t.Error("the key from secret_file signs differently")
	}

	leaky := "whsec_" + base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	cfg.SecretFile = write("short", leaky)
	_, err = cfg.Open(sinks.Env{})
	if want := "webhook: secret_file " + cfg.SecretFile + ": decodes to 16 bytes; Standard Webhooks keys have 24 to 64"; err == nil || err.Error() != want {
		t.Errorf("short secret in file: %v, want %s", err, want)
	}

	cfg.SecretFile = filepath.Join(dir, "missing")
	if _, err = cfg.Open(sinks.Env{}); err == nil || !strings.Contains(err.Error(), "webhook: secret_file: open ") {
		t.Errorf("missing file: %v", err)
	}
}
