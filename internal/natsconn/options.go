package natsconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	natsclient "github.com/nats-io/nats.go"

	"github.com/connect-sync/connect-sync/internal/secret"
)

// Options is what Dial needs to connect, the files the settings name read.
type Options struct {
	// Servers is the urls, comma separated, as the client takes them; it
	// holds no credentials, so errors may name it.
	Servers string
	// Timeout bounds the whole connect.
	Timeout time.Duration
	// Client is the client's options: authentication, TLS, the connection's
	// name, reconnecting. A caller may append its own (an error handler),
	// before Dial.
	Client []natsclient.Option
	// Secrets are the token or the password that Client sends, as read:
	// what the server may quote back, for the caller to redact from what
	// it says.
	Secrets []secret.String
}

// Options reads and parses every file the settings name (creds_file,
// nkey_file, token_file, password_file, tls_ca_file), so that a wrong one
// is an error naming its key when the caller opens rather than a failure
// of every connect, and returns the options of a connection that the
// server knows by name. It does not connect. The settings must be valid.
func (c *Config) Options(name string) (*Options, error) {
	auth, secrets, err := c.auth()
	if err != nil {
		return nil, err
	}
	o := &Options{Servers: strings.Join(c.URLs, ","), Timeout: c.Timeout, Secrets: secrets}
	o.Client = append(auth,
		natsclient.Name(name),
		natsclient.Timeout(c.Timeout),
		// The dialer resolves names within the connect's deadline.
		natsclient.SkipHostLookup(),
		// A connection that lost its server fails what is in flight, and
		// its user tries again on its next run, so reconnecting need not
		// last long.
		natsclient.MaxReconnects(5),
		natsclient.ReconnectWait(time.Second),
		natsclient.NoCallbacksAfterClientClose(),
	)
	if !c.DiscoverServers {
		o.Client = append(o.Client, natsclient.IgnoreDiscoveredServers())
	}
	if c.TLSCAFile != "" {
		tlsOpt, err := readCAs(c.TLSCAFile)
		if err != nil {
			return nil, err
		}
		o.Client = append(o.Client, tlsOpt)
	}
	return o, nil
}

// auth returns the connection options that authenticate, reading the
// files that hold secrets, and the secrets they send.
func (c *Config) auth() ([]natsclient.Option, []secret.String, error) {
	switch {
	case c.CredsFile != "":
		opt, err := readCreds(c.CredsFile)
		if err != nil {
			return nil, nil, err
		}
		return []natsclient.Option{opt}, nil, nil
	case c.NkeyFile != "":
		opt, err := natsclient.NkeyOptionFromSeed(c.NkeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("nkey_file %s: %w", c.NkeyFile, err)
		}
		return []natsclient.Option{opt}, nil, nil
	case !c.Token.IsZero() || c.TokenFile != "":
		token, err := readSecret(c.Token, "token_file", c.TokenFile)
		if err != nil {
			return nil, nil, err
		}
		return []natsclient.Option{natsclient.Token(token.Reveal())}, []secret.String{token}, nil
	case c.User != "":
		password, err := readSecret(c.Password, "password_file", c.PasswordFile)
		if err != nil {
			return nil, nil, err
		}
		return []natsclient.Option{natsclient.UserInfo(c.User, password.Reveal())}, []secret.String{password}, nil
	}
	return nil, nil, nil
}

// Secrets returns what a server may quote back that must not be shown:
// the token and the password, which the client sends as they are. A file
// that cannot be read is left out (Options reports it). A creds_file's
// or nkey_file's seed never leaves the process: only signatures are sent.
func (c *Config) Secrets() []secret.String {
	var out []secret.String
	for _, pair := range []struct {
		value secret.String
		file  string
	}{{c.Token, c.TokenFile}, {c.Password, c.PasswordFile}} {
		if s, err := secret.Read(pair.value, pair.file); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// readSecret is secret.Read, its error on key.
func readSecret(value secret.String, key, file string) (secret.String, error) {
	s, err := secret.Read(value, file)
	if err != nil {
		return secret.String{}, fmt.Errorf("%s: %w", key, err)
	}
	return s, nil
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
