package webhook

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/secret/secrettest"
)

// The signing secret, in any form, and the credentials in the URL never
// reach an error, a log line or the target.
func TestSecretNeverShown(t *testing.T) {
	key, _ := parseSecret(testSecret)
	forms := []string{testSecret, strings.TrimPrefix(testSecret, "whsec_"), string(key), hex.EncodeToString(key), fmt.Sprint(key)}

	rc := newReceiver(t, func(w http.ResponseWriter, req request) {
		if req.Method == http.MethodPost && contactOf(t, req.Body) == "1" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	withCredentials := strings.Replace(rc.URL, "http://", "http://hookuser:hookpass@", 1) + "/hook?token=tok123"
	edit := func(c *Config) {
		c.Concurrency, c.MaxRetries = 1, 1
		c.Headers = map[string]secret.String{"Authorization": secret.New("Bearer hdrtok")}
	}
	h := open(t, withCredentials, edit)
	shown := []string{h.target, (&Config{URL: withCredentials}).Target(), fmt.Sprint(h.Check(t.Context()))}
	for _, err := range h.Deliver(t.Context(), eventtest.Changes(t, 3, contact.Created)) {
		shown = append(shown, err.Error())
	}
	refused := open(t, strings.Replace(refusedURL(t), "http://", "http://hookuser:hookpass@", 1)+"?token=tok123", edit)
	shown = append(shown, fmt.Sprint(refused.Deliver(t.Context(), []contact.Change{eventtest.Change(t, contact.Created, "2")})), fmt.Sprint(refused.Check(t.Context())))
	shown = append(shown, h.logs.String(), refused.logs.String())
	for _, s := range shown {
		for _, leak := range append(forms, "hookpass", "tok123", "hdrtok") {
			if strings.Contains(s, leak) {
				t.Errorf("%q shows %q", s, leak)
			}
		}
	}
	if !strings.Contains(h.logs.String(), "retrying") {
		t.Errorf("no retry was logged, so the logs were not checked:\n%s", h.logs.String())
	}

	// Printing the sink or its config shows no form of the signing secret.
	cfg := DefaultConfig()
	cfg.URL, cfg.Secret = rc.URL, secret.New(testSecret)
	dumps := fmt.Sprintf("%v %+v %#v %v %+v %#v", h.Sink, *h.Sink, h.Sink, cfg, *cfg, cfg)
	for _, leak := range forms {
		if strings.Contains(dumps, leak) {
			t.Errorf("printing the sink or its config shows %q", leak)
		}
	}
}

// A receiver that quotes the request's secrets back (its Authorization
// header, the token in the URL's path, the signing secret) in its error
// body, its redirect or a malformed status line has none of them shown,
// in any of the echoes, in errors or logs.
func TestEchoedSecretsNeverShown(t *testing.T) {
	const token, pathToken = "Bearer hdr-token-0123456789abcdef", "pathToken0123456789ABCDEFghij"
	secrets := []string{token, pathToken, testSecret}
	for name, echo := range secrettest.Echoes {
		t.Run(name, func(t *testing.T) {
			var quote func(req request) string
			rc := newReceiver(t, func(w http.ResponseWriter, req request) {
				switch contactOf(t, req.Body) {
				case "1":
					w.WriteHeader(http.StatusBadRequest)
				case "2":
					w.Header().Set("Location", "/moved/"+echo(req.Header.Get("Authorization")))
					w.WriteHeader(http.StatusPermanentRedirect)
					return
				case "4": // net/http quotes a malformed status line
					conn, _, _ := w.(http.Hijacker).Hijack()
					io.WriteString(conn, "HTTP/1.1 "+strings.ReplaceAll(quote(req), " ", "_")+"\r\n\r\n")
					conn.Close()
					return
				default:
					w.WriteHeader(http.StatusInternalServerError)
				}
				io.WriteString(w, quote(req))
			})
			hook := rc.URL + "/" + pathToken
			h := open(t, hook, func(c *Config) {
				c.Concurrency, c.MaxRetries = 1, 1
				c.Headers = map[string]secret.String{"Authorization": secret.New(token)}
			})
			var shown []string
			for _, s := range secrets {
				quote = func(req request) string { return echo(s) }
				for _, id := range []string{"1", "2", "3", "4"} {
					err := h.Deliver(t.Context(), []contact.Change{eventtest.Change(t, contact.Created, id)})[0]
					shown = append(shown, err.Error())
				}
			}
			shown = append(shown, h.logs.String(), h.target, (&Config{URL: hook}).Target())
			for _, text := range shown {
				for _, s := range secrets {
					if leak := secrettest.Leak(text, s); leak != "" {
						t.Errorf("%q shows %q of secret %q", text, leak, s)
					}
				}
			}
			if !strings.Contains(h.logs.String(), "retrying") || !strings.Contains(shown[0], "[redacted]") {
				t.Errorf("nothing was redacted, or no retry logged: %q\n%s", shown[0], h.logs.String())
			}
		})
	}
}
