package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/sinks/sinktest"
)

func TestSinkContract(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Destination {
		rc := newReceiver(t, nil)
		var sink *Sink
		return sinktest.Destination{
			Open: func(env sinks.Env) (sinks.Sink, error) {
				cfg := DefaultConfig()
				cfg.URL, cfg.Secret, cfg.MaxRetries = rc.URL, secret.New(testSecret), 1
				opened, err := cfg.Open(env)
				if err == nil {
					sink = opened.(*Sink)
					sink.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
				}
				return opened, err
			},
			Contents: func() []string {
				var events [][]byte
				for _, req := range rc.got() {
					if req.Method == http.MethodPost { // not Check's OPTIONS
						events = append(events, req.Body)
					}
				}
				return eventtest.Replay(t, events)
			},
			Break: rc.Close,
			Panic: func(id string) {
				sink.client.Transport = panicOn{id: id, next: sink.client.Transport}
			},
		}
	})
}

// panicOn is a transport that panics on the events of one contact.
type panicOn struct {
	id   string
	next http.RoundTripper
}

func (p panicOn) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(body, fmt.Appendf(nil, `"contact":{"id":%s,`, p.id)) {
		panic("an event of contact " + p.id)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return p.next.RoundTrip(req)
}
