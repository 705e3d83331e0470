package natsconn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Files are read and parsed by Options, secrets trimmed; a missing, empty
// or unreadable file is an error naming the key, never the secret.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(good, []byte(" tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notCreds := filepath.Join(dir, "not.creds")
	if err := os.WriteFile(notCreds, []byte("tok-123 is no JWT\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.TokenFile = good }, ""},
		{func(c *Config) { c.User, c.PasswordFile = "u", good }, ""},
		{func(c *Config) { c.TokenFile = filepath.Join(dir, "missing") }, "token_file: open "},
		{func(c *Config) { c.User, c.PasswordFile = "u", empty }, "password_file: " + empty + " is empty"},
		{func(c *Config) { c.CredsFile = filepath.Join(dir, "missing.creds") }, "creds_file: open "},
		{func(c *Config) { c.CredsFile = notCreds }, "creds_file " + notCreds + ": no nkey seed: "},
		{func(c *Config) { c.TLSCAFile = filepath.Join(dir, "missing.pem") }, "tls_ca_file: open "},
		{func(c *Config) { c.TLSCAFile = good }, "tls_ca_file " + good + ": no PEM certificate"},
		{func(c *Config) { c.NkeyFile = good }, "nkey_file " + good + ": "},
	}
	for _, tt := range tests {
		c := valid()
		tt.edit(c)
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		_, err := c.Options("test")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Options: %v", err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("Options: %v, want %s…", err, tt.want)
		case err != nil && strings.Contains(err.Error(), "tok-123"):
			t.Errorf("the secret is in the error: %v", err)
		}
	}
}

// The servers are the urls as the client takes them, and the timeout the
// settings'.
func TestOptions(t *testing.T) {
	c := valid()
	c.URLs = []string{"nats://a:4222", "tls://b:4222"}
	o, err := c.Options("test")
	if err != nil {
		t.Fatal(err)
	}
	if o.Servers != "nats://a:4222,tls://b:4222" || o.Timeout != DefaultTimeout {
		t.Errorf("servers %q, timeout %v", o.Servers, o.Timeout)
	}
}
