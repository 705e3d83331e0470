package nats

import (
	"fmt"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/secret/secrettest"
)

// A server that quotes the credentials back in its -ERR has them shown
// nowhere: not in Deliver's errors, Check's, nor the logs.
func TestEchoedSecretsNeverShown(t *testing.T) {
	const token, password = "nats-token-0123456789abc", "nats-password-0123456789"
	url := natstest.Echo(t)
	for _, edit := range []func(*Config){
		func(c *Config) { c.Token = secret.New(token) },
		func(c *Config) { c.User, c.Password = "alice", secret.New(password) },
	} {
		s, logs := open(t, []string{url}, edit)
		shown := []string{fmt.Sprint(s.Deliver(t.Context(), []contact.Change{eventtest.Change(t, contact.Created, "1")})), fmt.Sprint(s.Check(t.Context()))}
		shown = append(shown, logs.String())
		for _, text := range shown {
			if !strings.Contains(text, "[redacted]") && text != logs.String() {
				t.Errorf("nothing redacted, so the echo was not quoted: %s", text)
			}
			for _, secret := range []string{token, password} {
				if leak := secrettest.Leak(text, secret); leak != "" {
					t.Errorf("%q of a secret is shown: %s", leak, text)
				}
			}
		}
	}
}

// Secrets as short as "nats" or "connect" (another sink's password, say)
// are redacted from what the server says, never from the sink's own
// words: its errors still say where it was connecting.
func TestOwnWordsKept(t *testing.T) {
	url := natstest.Echo(t)
	s, _ := open(t, []string{url}, func(c *Config) { c.Token = secret.New("nats-token-0123456789abc") })
	s.redact = s.redact.With(secret.New("nats"), secret.New("connect"), secret.New("to"))
	err := s.Check(t.Context())
	if want := "nats: connect to " + url + ": "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want it to start %q", err, want)
	}
}
