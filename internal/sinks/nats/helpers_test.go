package nats

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens a sink on urls with the test's settings, closed when the
// test ends; its logs go to the returned buffer.
func open(t testing.TB, urls []string, edit func(*Config)) (*Sink, *bytes.Buffer) {
	t.Helper()
	c := DefaultConfig()
	c.URLs = urls
	c.Timeout = 5 * time.Second
	if edit != nil {
		edit(c)
	}
	var logs bytes.Buffer
	s, err := c.Open(sinks.Env{Name: "bus", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.(*Sink).Close() })
	return s.(*Sink), &logs
}
