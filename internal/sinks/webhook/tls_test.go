package webhook

import (
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// TestTLSCAFile delivers to a TLS receiver whose certificate only the CA
// in tls_ca_file vouches for.
func TestTLSCAFile(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}

	h := open(t, srv.URL+"/hook", func(c *Config) { c.TLSCAFile = ca })
	if errs := h.Deliver(t.Context(), eventtest.Changes(t, 2, contact.Created)); errs[0] != nil || errs[1] != nil {
		t.Errorf("with tls_ca_file: %v", errs)
	}
	if err := h.Check(t.Context()); err != nil {
		t.Errorf("Check with tls_ca_file: %v", err)
	}

	h = open(t, srv.URL+"/hook", func(c *Config) { c.MaxRetries = 0 })
	err := h.Deliver(t.Context(), eventtest.Changes(t, 1, contact.Created))[0]
	if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without tls_ca_file: %v, want an unavailable destination for its certificate", err)
	}

	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.URL, cfg.Secret, cfg.TLSCAFile = srv.URL, secret.New(testSecret), notPEM
	_, err = cfg.Open(sinks.Env{})
	if want := "webhook: tls_ca_file " + notPEM + ": holds no PEM certificate"; err == nil || err.Error() != want {
		t.Errorf("CA file without a certificate: %v, want %s", err, want)
	}
	cfg.TLSCAFile = filepath.Join(dir, "missing.pem")
	if _, err = cfg.Open(sinks.Env{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing CA file: %v", err)
	}
}
