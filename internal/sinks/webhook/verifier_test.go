package webhook

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

const installVerifier = "run scripts/test.sh, which installs the verifier (npm ci --prefix internal/sinks/webhook/testdata/verifier)"

// startVerifier runs testdata/verifier/verifier.js, a receiver that checks
// every request with the Standard Webhooks reference library, and returns
// its URL. It fails rather than skips without Node or the library: the
// signatures are this sink's contract.
func startVerifier(t *testing.T, whsec string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to verify the signatures: %v; install Node.js and %s", err, installVerifier)
	}
	dir := filepath.Join("testdata", "verifier")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks", "package.json")); err != nil {
		t.Fatalf("the Standard Webhooks library is missing (%v): %s", err, installVerifier)
	}
	cmd := exec.Command(node, "verifier.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+whsec)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Wait()
		t.Fatalf("verifier.js did not start: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return "http://127.0.0.1:" + strings.TrimSpace(port) + "/hook"
}

// TestReferenceVerifier has every kind of request checked by the
// reference library, and one signed with another secret refused by it.
func TestReferenceVerifier(t *testing.T) {
	url := startVerifier(t, testSecret)
	batch := []contact.Change{eventtest.Change(t, contact.Created, "1"), eventtest.Change(t, contact.Updated, "2"), eventtest.Change(t, contact.Deleted, "3")}
	for _, size := range []int{1, 2} {
		h := open(t, url, func(c *Config) { c.BatchSize = size })
		for i, err := range h.Deliver(t.Context(), batch) {
			if err != nil {
				t.Errorf("batch_size %d, change %d: %v", size, i, err)
			}
		}
	}

	other := "whsec_" + strings.Repeat("A", 32)
	h := open(t, url, func(c *Config) { c.Secret = secret.New(other) })
	err := h.Deliver(t.Context(), batch[:1])[0]
	if !errors.Is(err, sinks.ErrPermanent) || !strings.Contains(err.Error(), "400 Bad Request: WebhookVerificationError: No matching signature found") {
		t.Errorf("signed with another secret: %v, want the verifier's refusal", err)
	}
}
