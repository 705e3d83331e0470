package carddav

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/sinks/sinktest"
)

func TestSinkContract(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			s := srv.start(t)
			root, err := url.Parse(s.Root)
			if err != nil {
				t.Fatal(err)
			}
			var books atomic.Int64
			sinktest.Run(t, func(t *testing.T) sinktest.Destination {
				// The sink reaches the server through a proxy of its own,
				// which Break closes.
				proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(root))
				t.Cleanup(proxy.Close)
				book := fmt.Sprintf("suite%d/", books.Add(1))
				var (
					sink      *Sink
					sourceURL string
				)
				return sinktest.Destination{
					Open: func(env sinks.Env) (sinks.Sink, error) {
						cfg := bookConfig(s, book)
						cfg.URL = proxy.URL + strings.TrimPrefix(cfg.URL, s.Root)
						opened, err := cfg.Open(env)
						if err == nil {
							sink, sourceURL = opened.(*Sink), env.SourceURL
						}
						return opened, err
					},
					Contents: func() []string {
						var cards []string
						for _, c := range newReader(t, s).cards(s.Home + book) {
							cards = append(cards, string(c.raw))
						}
						return cards
					},
					Break: proxy.Close,
					Panic: func(id string) {
						name := fileName(card.UID(sourceURL, id))
						sink.client.http.Transport = panicOn{name: name, next: sink.client.http.Transport}
					},
				}
			})
		})
	}
}

// panicOn is a transport that panics on the requests for one card.
type panicOn struct {
	name string
	next http.RoundTripper
}

func (p panicOn) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/"+p.name) {
		panic("a request for " + p.name)
	}
	return p.next.RoundTrip(req)
}
