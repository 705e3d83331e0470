package natsconn

import (
	"errors"
	"testing"

	"github.com/connect-sync/connect-sync/internal/secret"
)

// valid returns settings that pass Validate.
func valid() *Config {
	return &Config{URLs: []string{"nats://127.0.0.1:4222"}, Timeout: DefaultTimeout}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // the FieldError, "" for valid
	}{
		{"a url", func(c *Config) {}, ""},
		{"several urls", func(c *Config) { c.URLs = []string{"nats://a:4222", "tls://b:4222", "ws://c:80", "wss://d"} }, ""},
		{"no url", func(c *Config) { c.URLs = nil }, "urls: is required: at least one server, such as nats://127.0.0.1:4222"},
		{"http url", func(c *Config) { c.URLs = []string{"http://a:4222"} }, "urls[0]: must be a nats://, tls://, ws:// or wss:// URL with a host (nats://host:4222)"},
		{"bare host", func(c *Config) { c.URLs = []string{"nats://a", "a:4222"} }, "urls[1]: must be a nats://, tls://, ws:// or wss:// URL with a host (nats://host:4222)"},
		{"not a url", func(c *Config) { c.URLs = []string{"nats://u:pw@a b:4222"} }, `urls[0]: is not a URL: invalid character " " in host name`},
		{"credentials in url", func(c *Config) { c.URLs = []string{"nats://u:secret@a:4222"} }, "urls[0]: must not hold credentials: use creds_file, nkey_file, token or user and password"},
		{"path in url", func(c *Config) { c.URLs = []string{"nats://a:4222/x"} }, "urls[0]: must be only a scheme, a host and a port"},
		{"a token", func(c *Config) { c.Token = secret.New("t") }, ""},
		{"a user", func(c *Config) { c.User, c.PasswordFile = "u", "/f" }, ""},
		{"token and file", func(c *Config) { c.Token, c.TokenFile = secret.New("t"), "/f" }, "token_file: set token or token_file, not both"},
		{"password and file", func(c *Config) { c.User, c.Password, c.PasswordFile = "u", secret.New("p"), "/f" }, "password_file: set password or password_file, not both"},
		{"password without user", func(c *Config) { c.Password = secret.New("p") }, "user: is required with a password"},
		{"user without password", func(c *Config) { c.User = "u" }, "password: is required with user (or password_file)"},
		{"two ways", func(c *Config) { c.CredsFile, c.Token = "/c", secret.New("t") }, "token: set one way to authenticate, not creds_file and token"},
		{"three ways", func(c *Config) { c.NkeyFile, c.User, c.CredsFile, c.PasswordFile = "/n", "u", "/c", "/p" }, "nkey_file: set one way to authenticate, not creds_file and nkey_file and user"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "timeout: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || err.Error() != tt.want {
				t.Fatalf("Validate: %v\nwant %s", err, tt.want)
			}
		})
	}
}
