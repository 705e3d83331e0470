// Package natsconn is how connect-sync reaches NATS servers: the
// connection settings that every user of NATS shares (the nats sink, and
// whatever else connects), their validation, reading the files that hold
// credentials, and a connect bounded by a timeout and a context.
//
// Its errors name the config key at fault, never a secret; they carry no
// package prefix, since the caller (a sink, a state backend) says what was
// connecting.
package natsconn

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/connect-sync/connect-sync/internal/secret"
)

// Config is the connection settings of a config entry. An entry with
// settings of its own embeds it inline, so that its keys sit beside them.
type Config struct {
	// URLs are the servers to connect to (nats://, tls://, ws:// or
	// wss://host:port). Credentials do not go here but in the keys below.
	URLs []string `yaml:"urls"`
	// DiscoverServers lets the client connect to the servers a cluster
	// announces besides URLs, and so send them the credentials: off, so
	// that a server (or whoever answers as one) cannot send the client,
	// and its credentials, elsewhere. List every node in URLs instead.
	DiscoverServers bool `yaml:"discover_servers"`

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

	// Timeout bounds connecting, to any of the urls in turn, as a whole.
	// A user may bound its own requests with it too.
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultTimeout is the Timeout of an entry that does not set it.
const DefaultTimeout = 10 * time.Second

// FieldError is an invalid setting: Key is its key within the entry, such
// as "urls[1]". Its text is that of the other config errors, "key:
// problem", so that a caller can turn it into its own.
type FieldError struct {
	Key string
	Err error
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %v", e.Key, e.Err) }

func (e *FieldError) Unwrap() error { return e.Err }

// schemes are the URL schemes the client speaks.
var schemes = []string{"nats", "tls", "ws", "wss"}

// Validate checks the settings; errors are *FieldError. The files named
// are read by Options.
func (c *Config) Validate() error {
	if err := c.validateURLs(); err != nil {
		return err
	}
	if err := c.validateAuth(); err != nil {
		return err
	}
	if c.Timeout <= 0 {
		return &FieldError{Key: "timeout", Err: errors.New("must be positive")}
	}
	return nil
}

func (c *Config) validateURLs() error {
	if len(c.URLs) == 0 {
		return &FieldError{Key: "urls", Err: errors.New("is required: at least one server, such as nats://127.0.0.1:4222")}
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
			return &FieldError{Key: key, Err: fmt.Errorf("is not a URL: %w", err)}
		}
		switch {
		case !slices.Contains(schemes, u.Scheme) || u.Host == "":
			return &FieldError{Key: key, Err: errors.New("must be a nats://, tls://, ws:// or wss:// URL with a host (nats://host:4222)")}
		case u.User != nil:
			return &FieldError{Key: key, Err: errors.New("must not hold credentials: use creds_file, nkey_file, token or user and password")}
		case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
			return &FieldError{Key: key, Err: errors.New("must be only a scheme, a host and a port")}
		}
	}
	return nil
}

func (c *Config) validateAuth() error {
	switch {
	case !c.Token.IsZero() && c.TokenFile != "":
		return &FieldError{Key: "token_file", Err: errors.New("set token or token_file, not both")}
	case !c.Password.IsZero() && c.PasswordFile != "":
		return &FieldError{Key: "password_file", Err: errors.New("set password or password_file, not both")}
	case c.User == "" && (!c.Password.IsZero() || c.PasswordFile != ""):
		return &FieldError{Key: "user", Err: errors.New("is required with a password")}
	case c.User != "" && c.Password.IsZero() && c.PasswordFile == "":
		return &FieldError{Key: "password", Err: errors.New("is required with user (or password_file)")}
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
		return &FieldError{Key: set[1], Err: fmt.Errorf("set one way to authenticate, not %s", strings.Join(set, " and "))}
	}
	return nil
}
