package carddav

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// foldedCard is a card with the given X-CONNECT-ID and UID whose NOTE,
// before both, is one line of n octets folded every 75: go-vcard takes
// time quadratic in n to read it (23 s for 1 MiB).
func foldedCard(id, uid string, n int) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:")
	for ; n > 0; n -= 72 {
		b.WriteString(strings.Repeat("x", min(n, 72)) + "\r\n ")
	}
	b.WriteString("\r\nUID:" + uid + "\r\nX-CONNECT-ID:" + id + "\r\nEND:VCARD\r\n")
	return b.String()
}

// preconditions records the precondition header of each PUT, by path.
type preconditions struct {
	mu   sync.Mutex
	puts map[string]string
}

func (p *preconditions) put(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.puts == nil {
		p.puts = map[string]string{}
	}
	if tag := r.Header.Get("If-Match"); tag != "" {
		p.puts[r.URL.Path] = "If-Match: " + tag
	} else {
		p.puts[r.URL.Path] = "If-None-Match: " + r.Header.Get("If-None-Match")
	}
	w.Header().Set("ETag", `"new"`)
	w.WriteHeader(http.StatusCreated)
}

func (p *preconditions) check(t *testing.T, want map[string]string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !maps.Equal(p.puts, want) {
		t.Errorf("PUTs %v, want %v", p.puts, want)
	}
}

// deliverWithinTimeout delivers the batch, failing the test unless the
// run ends within the sink's timeout.
func deliverWithinTimeout(t *testing.T, s *Sink, batch []contact.Change) []error {
	t.Helper()
	done := make(chan []error, 1)
	start := time.Now()
	go func() { done <- s.Deliver(t.Context(), batch) }()
	select {
	case errs := <-done:
		t.Logf("delivered in %v", time.Since(start))
		return errs
	case <-time.After(s.cfg.Timeout):
		t.Fatalf("the run still goes on after the sink's timeout of %v", s.cfg.Timeout)
		return nil
	}
}

// TestHugeFoldedCardsInTheListing: a book whose listing holds cards with
// a folded line of megabytes, one of them the sink's own, is read within
// the sink's timeout, and every card in it is handled: the sink's cards
// are adopted, the one with another UID is left alone.
func TestHugeFoldedCardsInTheListing(t *testing.T) {
	listing := []struct{ href, etag, card string }{
		{"/book/huge.vcf", `"h"`, foldedCard("1", uidOf("1"), 8<<20)},
		{"/book/copy.vcf", `"c"`, foldedCard("2", "urn:uuid:a-copy-by-another-client", 4<<20)},
		{"/book/two.vcf", `"t"`, foldedCard("2", uidOf("2"), 100)},
	}
	var p preconditions
	srv := misbehavingBook(t, map[string]http.HandlerFunc{"PUT": p.put, "REPORT": func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusMultiStatus)
		io.WriteString(w, `<multistatus xmlns="DAV:">`)
		for _, c := range listing {
			fmt.Fprintf(w, `<response><href>%s</href><propstat><prop><getetag>%s</getetag>`+
				`<address-data xmlns="urn:ietf:params:xml:ns:carddav">%s</address-data></prop>`+
				`<status>HTTP/1.1 200 OK</status></propstat></response>`, c.href, c.etag, c.card)
		}
		io.WriteString(w, `</multistatus>`)
	}})
	cfg := DefaultConfig()
	cfg.URL, cfg.Timeout = srv.URL+"/book/", 10*time.Second
	s := open(t, cfg, newMemo())
	for i, err := range deliverWithinTimeout(t, s, created("1", "2", "3")) {
		if err != nil {
			t.Errorf("card %d: %v", i, err)
		}
	}
	p.check(t, map[string]string{
		"/book/huge.vcf":                `If-Match: "h"`,
		"/book/two.vcf":                 `If-Match: "t"`,
		"/book/" + fileName(uidOf("3")): "If-None-Match: *",
	})
}

// TestHugeFoldedCardOnGet: a card read back with a folded line of
// megabytes, where a new card was to go, is recognised within the sink's
// timeout: the sink's own is written over, another is left alone.
func TestHugeFoldedCardOnGet(t *testing.T) {
	cards := map[string]string{
		"/book/" + fileName(uidOf("1")): foldedCard("1", uidOf("1"), 8<<20),
		"/book/" + fileName(uidOf("2")): foldedCard("someone", "urn:uuid:someone-else", 8<<20),
	}
	var p preconditions
	srv := misbehavingBook(t, map[string]http.HandlerFunc{
		"GET": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"got"`)
			io.WriteString(w, cards[r.URL.Path])
		},
		"PUT": func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("If-None-Match") == "*" {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusPreconditionFailed) // a card is there
				return
			}
			p.put(w, r)
		},
	})
	cfg := DefaultConfig()
	cfg.URL, cfg.Timeout = srv.URL+"/book/", 10*time.Second
	s := open(t, cfg, newMemo())
	errs := deliverWithinTimeout(t, s, created("1", "2"))
	if errs[0] != nil {
		t.Errorf("card 0: %v", errs[0])
	}
	if !errors.Is(errs[1], sinks.ErrPermanent) || !strings.Contains(errs[1].Error(), "not connect-sync's") {
		t.Errorf("card 1: %v, want ErrPermanent: not connect-sync's", errs[1])
	}
	p.check(t, map[string]string{"/book/" + fileName(uidOf("1")): `If-Match: "got"`})
}

// misbehavingBook is an address book whose answers to each method of
// misbehave come from it; it answers PROPFIND and REPORT as a plain empty
// book, and the rest as unexpected.
func misbehavingBook(t *testing.T, misbehave map[string]http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := misbehave[r.Method]
		switch {
		case ok:
			h(w, r)
		case r.Method == "PROPFIND":
			w.WriteHeader(http.StatusMultiStatus)
			io.WriteString(w, bookPropfind)
		case r.Method == "REPORT":
			w.WriteHeader(http.StatusMultiStatus)
			io.WriteString(w, `<multistatus xmlns="DAV:"/>`)
		default:
			http.Error(w, "unexpected", http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}
