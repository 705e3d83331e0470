package webhook

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// hangUp answers a request by writing partial, then closing the
// connection, as a receiver that crashes or a proxy that gives up would.
func hangUp(t *testing.T, partial string) func(http.ResponseWriter, request) {
	return func(w http.ResponseWriter, _ request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_, _ = io.WriteString(buf, partial)
		_ = buf.Flush()
		conn.Close()
	}
}

// A receiver that closes the connection instead of answering has not
// acknowledged the event: it is retried, with the same webhook-id, and
// stays queued (ErrUnavailable) when every attempt is cut. The other
// answers are in TestClassification.
func TestConnectionClosed(t *testing.T) {
	tests := []struct {
		name     string
		partial  string // written before the close
		cuts     int    // attempts cut before the receiver answers 204; 0 for all
		want     error
		msg      string
		requests int
	}{
		{name: "before answering", want: sinks.ErrUnavailable, msg: "destination unavailable: EOF (3 attempts)", requests: 3},
		{name: "in the status line", partial: "HTTP/1.1 20", want: sinks.ErrUnavailable, msg: "destination unavailable: ", requests: 3},
		{name: "once, then answered", cuts: 1, requests: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cut := hangUp(t, tt.partial)
			rc := newReceiver(t, func(w http.ResponseWriter, req request) {
				if tt.cuts == 0 || req.Attempt <= tt.cuts {
					cut(w, req)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})
			h := open(t, rc.URL, func(c *Config) { c.Concurrency, c.MaxRetries = 1, 2 })
			errs := h.Deliver(t.Context(), eventtest.Changes(t, 1, contact.Created))
			if !errors.Is(errs[0], tt.want) || tt.want != nil && !strings.Contains(errs[0].Error(), tt.msg) {
				t.Fatalf("err = %v, want %v with %q", errs[0], tt.want, tt.msg)
			}
			got := rc.got()
			if len(got) != tt.requests {
				t.Fatalf("%d requests, want %d", len(got), tt.requests)
			}
			for _, req := range got {
				if req.ID != "msg_created_1" {
					t.Errorf("attempt with webhook-id %q, want msg_created_1 every time", req.ID)
				}
			}
		})
	}
}
