package webhook

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
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

// Only the URL's parts that look like tokens are secrets: Make's, Slack's
// and Zapier's, not a plain URL's words.
func TestURLTokens(t *testing.T) {
	tests := []struct {
		url  string
		want []string
	}{
		{"https://hook.eu1.make.com/2ds9lq0hv3p6xyrbcaw7kf1emntu4go8", []string{"2ds9lq0hv3p6xyrbcaw7kf1emntu4go8"}},
		{"https://hooks.slack.com/services/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", []string{"T0A1B2C3D", "B0E4F5G6H", "Mq8vY2kLp0TzQeRwNsHdBxYz"}},
		{"https://hooks.zapier.com/hooks/catch/4071390/3gj8qqm/", []string{"3gj8qqm"}},
		{"https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_JKLmnoPQR", []string{"123456789012345678", "abcDEF-ghi_JKLmnoPQR"}},
		{"https://n8n.example/webhook/3f2504e0-4f89-11d3-9a0c-0305e82c3301", []string{"3f2504e0-4f89-11d3-9a0c-0305e82c3301"}},
		{"https://x.example/hook?token=tok123&v=1", []string{"tok123"}},
		{"https://x.example/api/v1/hook?v=1", nil},
		{"https://x.example/webhooks/salesforce-contacts-sync?format=json", nil},
		{"https://x.example/v2/contacts-v2/oauth2", nil},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range urlTokens(u) {
			got = append(got, s.Reveal())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("urlTokens(%s) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// The workspace's redactor gets the sink's credentials, never the URL's
// words nor the values of headers that carry none.
func TestSecrets(t *testing.T) {
	c := DefaultConfig()
	c.URL, c.Secret = "https://u:hookpass@x.example/api/webhook/3gj8qqm?v=1", secret.New(testSecret)
	c.Headers = map[string]secret.String{
		"Authorization":    secret.New("Bearer hdrtok"),
		"X-Api-Key":        secret.New("k1"),
		"Cookie":           secret.New("sid=abc"),
		"X-Tenant":         secret.New("acme-0123456789abcdef"), // looks like a token
		"Accept":           secret.New("application/json"),
		"Content-Language": secret.New("en"),
		"X-Source":         secret.New("webhook"),
	}
	var got []string
	for _, s := range c.Secrets() {
		got = append(got, s.Reveal())
	}
	slices.Sort(got)
	want := []string{"Bearer hdrtok", "acme-0123456789abcdef", "hookpass", "k1", "sid=abc", testSecret}
	if !slices.Equal(got, want) {
		t.Errorf("Secrets() = %q, want %q", got, want)
	}
}

// A receiver's message keeps its words when the sink's URL and headers
// hold them: "webhook", "api", "v1" and "1" of the URL, "application/json"
// of a header, are no secrets.
func TestReceiverWordsKept(t *testing.T) {
	const says = "webhook api v1 wants application/json, got 1 event; token 3gj8qqm"
	rc := newReceiver(t, func(w http.ResponseWriter, req request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, says)
	})
	h := open(t, rc.URL+"/api/v1/webhook/3gj8qqm?v=1", func(c *Config) {
		c.Headers = map[string]secret.String{"Accept": secret.New("application/json")}
	})
	err := h.Deliver(t.Context(), eventtest.Changes(t, 1, contact.Created))[0]
	prefix, suffix := "webhook: POST "+rc.URL+"/…: ", ": 400 Bad Request: "+strings.Replace(says, "3gj8qqm", "[redacted]", 1)
	if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.HasSuffix(err.Error(), suffix) {
		t.Errorf("error\n got %v\nwant %s…%s", err, prefix, suffix)
	}
}
