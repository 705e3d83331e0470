package webhook

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/secret"
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
