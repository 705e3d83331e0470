package carddav

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		msg  string // the FieldError's message; "" for valid
	}{
		{"url", "url: https://dav.example.com/book/", ""},
		{"discovery", "server: https://dav.example.com\naddressbook: Contacts\nusername: a\npassword: p", ""},
		{"bearer", "url: https://dav.example.com/book/\nbearer_token: t", ""},
		{"nothing", "", "url: is required (or server and addressbook)"},
		{"both", "url: https://a/b/\nserver: https://a", "server: cannot be set with url"},
		{"no book", "server: https://a", "addressbook: is required with server"},
		{"book with url", "url: https://a/b/\naddressbook: B", "addressbook: goes with server, not url"},
		{"scheme", "url: ftp://a/b/", "url: must be an http or https URL (https://host/path/)"},
		{"relative", "server: dav.example.com\naddressbook: B", "server: must be an http or https URL (https://host/path/)"},
		{"password in a mistyped url", "url: alice:hunter2@dav.example.com/book/", "url: must be an http or https URL (https://host/path/)"},
		{"credentials in url", "url: https://a:p@a/b/", "url: must not hold credentials: use username and password"},
		{"no password", "url: https://a/b/\nusername: a", "password: is required with username (or password_file)"},
		{"no username", "url: https://a/b/\npassword: p", "username: is required with a password"},
		{"two passwords", "url: https://a/b/\nusername: a\npassword: p\npassword_file: f", "password_file: cannot be set with password"},
		{"two tokens", "url: https://a/b/\nbearer_token: t\nbearer_token_file: f", "bearer_token_file: cannot be set with bearer_token"},
		{"basic and bearer", "url: https://a/b/\nusername: a\npassword: p\nbearer_token: t", "bearer_token: cannot be set with username and password"},
		{"policy", "url: https://a/b/\nconflict_policy: merge", `conflict_policy: must be "overwrite" or "skip", not "merge"`},
		{"concurrency", "url: https://a/b/\nconcurrency: 0", "concurrency: must be from 1 to 16, not 0"},
		{"version", "url: https://a/b/\nversion: '2.1'", `version: must be "3.0" or "4.0", not "2.1"`},
		{"timeout", "url: https://a/b/\ntimeout: 0s", "timeout: must be positive, not 0s"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		if err := yaml.Unmarshal([]byte(tt.yaml), cfg); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		err := cfg.Validate()
		var fe *sinks.FieldError
		switch {
		case tt.msg == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case tt.msg != "" && (!errors.As(err, &fe) || err.Error() != tt.msg):
			t.Errorf("%s: error %v, want FieldError %q", tt.name, err, tt.msg)
		}
	}
}

func TestTarget(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL = "https://dav.example.com/book/"
	if got := cfg.Target(); got != cfg.URL {
		t.Errorf("Target() = %q", got)
	}
	cfg = DefaultConfig()
	cfg.Server, cfg.AddressBook, cfg.Username = "https://dav.example.com", "My Contacts", "alice"
	if got, want := cfg.Target(), "https://alice@dav.example.com#My%20Contacts"; got != want {
		t.Errorf("Target() = %q, want %q", got, want)
	}
}

// TestSecretFiles: the password and the token are read from their files,
// trimmed, sent, and never printed.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "password")
	writeFile(t, file, password+"\n")
	cfg := DefaultConfig()
	cfg.URL, cfg.Username, cfg.PasswordFile = "https://dav.example.com/book/", "alice", file
	auth, _, err := cfg.credentials()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := auth.Reveal(), basicAuth("alice", secretOf(password)).Reveal(); got != want {
		t.Errorf("Authorization %q, want %q", got, want)
	}
	if out := fmt.Sprintf("%v %+v %#v", cfg, cfg, auth); strings.Contains(out, password) {
		t.Errorf("printed: %s", out)
	}

	token := filepath.Join(dir, "token")
	writeFile(t, token, " tok-123 \n")
	cfg = DefaultConfig()
	cfg.URL, cfg.BearerTokenFile = "https://dav.example.com/book/", token
	if auth, _, err := cfg.credentials(); err != nil || auth.Reveal() != "Bearer tok-123" {
		t.Errorf("bearer: %q, %v", auth.Reveal(), err)
	}

	cfg.BearerTokenFile = filepath.Join(dir, "missing")
	var fe *sinks.FieldError
	if _, err := cfg.Open(sinks.Env{}); !errors.As(err, &fe) || fe.Key != "bearer_token_file" {
		t.Errorf("missing token file: %v", err)
	}
}
