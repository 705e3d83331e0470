package carddav

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

const bookPropfind = `<multistatus xmlns="DAV:"><response><href>/book/</href><propstat><prop><resourcetype><collection/>` +
	`<addressbook xmlns="urn:ietf:params:xml:ns:carddav"/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`

// hostileBook is an address book whose answers to method come from
// misbehave; it answers the rest as a plain empty book.
func hostileBook(t *testing.T, method string, misbehave http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == method:
			misbehave(w, r)
		case r.Method == "PROPFIND":
			w.WriteHeader(http.StatusMultiStatus)
			io.WriteString(w, bookPropfind)
		case r.Method == "REPORT":
			w.WriteHeader(http.StatusMultiStatus)
			io.WriteString(w, `<multistatus xmlns="DAV:"/>`)
		case r.Method == http.MethodPut:
			w.Header().Set("ETag", `"1"`)
			w.WriteHeader(http.StatusCreated)
		default:
			http.Error(w, "unexpected", http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// trickle sends a 207's headers, then a byte of its body every 20 ms
// until the client leaves.
func trickle(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusMultiStatus)
	io.WriteString(w, `<multistatus xmlns="DAV:">`)
	for {
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(20 * time.Millisecond):
			io.WriteString(w, " ")
		}
	}
}

// hang answers nothing until the client leaves. It reads the request
// body first: until then, the server does not notice the client leaving.
func hang(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// TestSlowServerFailsWithinTheTimeout: a server that trickles a response
// body, or never answers, fails the request once the timeout has passed
// (the listing's, lowered here, is at least minListingTime), and stops
// the sink for the run.
func TestSlowServerFailsWithinTheTimeout(t *testing.T) {
	tests := []struct {
		name, method string
		misbehave    http.HandlerFunc
		want         string
	}{
		{"trickled multistatus", "PROPFIND", trickle, "no complete response within 300ms"},
		{"trickled listing", "REPORT", trickle, "no complete response within 300ms"},
		{"no answer", "PROPFIND", hang, "no response within 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hostileBook(t, tt.method, tt.misbehave)
			cfg := DefaultConfig()
			cfg.URL, cfg.Timeout = srv.URL+"/book/", 300*time.Millisecond
			s := open(t, cfg, newMemo())
			if s.client.listing.time != minListingTime {
				t.Errorf("the listing gets %v, want %v", s.client.listing.time, minListingTime)
			}
			s.client.listing.time = cfg.Timeout
			start := time.Now()
			errs := s.Deliver(t.Context(), created("1", "2"))
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %v, want the timeout of 300ms", took)
			}
			for i, err := range errs {
				if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("card %d: %v, want ErrUnavailable and %q", i, err, tt.want)
				}
			}
		})
	}
}

// TestHugeMultistatusFails: a listing larger than the sink reads fails
// with a size error, and an endless card in it is given up after
// maxBody, with memory to match, not the body's size.
func TestHugeMultistatusFails(t *testing.T) {
	card := `<response><href>/book/x.vcf</href><propstat><prop><getetag>"1"</getetag><address-data xmlns="urn:ietf:params:xml:ns:carddav">` +
		"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n</address-data></prop><status>HTTP/1.1 200 OK</status></propstat></response>"
	endless := func(open, repeated string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusMultiStatus)
			io.WriteString(w, open)
			chunk := strings.Repeat(repeated, 64<<10/len(repeated))
			for r.Context().Err() == nil {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		}
	}
	tests := []struct {
		name       string
		misbehave  http.HandlerFunc
		maxListing int64
		want       string
	}{
		{
			name:       "endless list of cards",
			misbehave:  endless(`<multistatus xmlns="DAV:">`, card),
			maxListing: 4 << 20,
			want:       "response body larger than 4 MiB, more than the sink reads",
		},
		{
			name:       "endless card",
			misbehave:  endless(`<multistatus xmlns="DAV:">`+strings.TrimSuffix(card, "END:VCARD\r\n</address-data></prop><status>HTTP/1.1 200 OK</status></propstat></response>"), "NOTE:x\r\n"),
			maxListing: maxListing,
			want:       "a response in the multistatus is larger than 32 MiB",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hostileBook(t, "REPORT", tt.misbehave)
			cfg := DefaultConfig()
			cfg.URL = srv.URL + "/book/"
			s := open(t, cfg, newMemo())
			s.client.listing.size = tt.maxListing
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			errs := s.Deliver(t.Context(), created("1"))
			runtime.ReadMemStats(&after)
			if !errors.Is(errs[0], sinks.ErrUnavailable) || !strings.Contains(errs[0].Error(), tt.want) {
				t.Errorf("%v, want ErrUnavailable and %q", errs[0], tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*maxBody {
				t.Errorf("allocated %d MiB, want %d at most", alloc>>20, 8*maxBody>>20)
			}
		})
	}
}

// TestGetOfAHugeCardFails: a card read back larger than maxBody fails
// that card, not the sink.
func TestGetOfAHugeCardFails(t *testing.T) {
	srv := hostileBook(t, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"2"`)
		io.WriteString(w, "BEGIN:VCARD\r\nVERSION:3.0\r\n")
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, strings.Repeat("NOTE:x\r\n", 8<<10)); err != nil {
				return
			}
		}
	})
	cfg := DefaultConfig()
	cfg.URL = srv.URL + "/book/"
	s := open(t, cfg, newMemo())
	s.client.request.size = 1 << 20
	book, err := s.addressBook(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.get(t.Context(), book.JoinPath("x.vcf").Path)
	if err == nil || errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), "response body larger than 1 MiB") {
		t.Errorf("%v, want an error of this card alone about its size", err)
	}
}

// TestRedirectToAnotherServerIsRefused: a PUT redirected with 307 to
// another server (another port of the same host counts) is not sent
// there: that server receives nothing, neither the card nor the
// credentials. A redirect on the same server is followed.
func TestRedirectToAnotherServerIsRefused(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		t.Errorf("the other server got %s %s (Authorization %q)", r.Method, r.URL, r.Header.Get("Authorization"))
	}))
	t.Cleanup(other.Close)
	var moved atomic.Int32
	srv := hostileBook(t, http.MethodPut, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/moved/"):
			moved.Add(1)
			w.Header().Set("ETag", `"1"`)
			w.WriteHeader(http.StatusCreated)
		case strings.Contains(r.URL.Path, contactFile("here")):
			http.Redirect(w, r, "/moved"+r.URL.Path, http.StatusTemporaryRedirect)
		default:
			http.Redirect(w, r, other.URL+"/steal"+r.URL.Path+"?token=t0ps3cret", http.StatusTemporaryRedirect)
		}
	})
	cfg := DefaultConfig()
	cfg.URL, cfg.Username, cfg.Password, cfg.Concurrency = srv.URL+"/book/", "alice", secretOf(password), 1
	errs := open(t, cfg, newMemo()).Deliver(t.Context(), created("here", "away", "later"))
	if errs[0] != nil || moved.Load() != 1 {
		t.Errorf("redirect on the same server: %v, %d PUTs there, want it followed", errs[0], moved.Load())
	}
	want := "the server redirected to another server, " + other.URL + ", which connect-sync does not follow"
	for i, err := range errs[1:] {
		if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), want) {
			t.Errorf("card %d: %v, want ErrUnavailable and %q", i+1, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "t0ps3cret") {
			t.Errorf("the error shows the redirect's query: %v", err)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other server got %d requests", n)
	}
}

// TestDiscoveryRedirectToAnotherServerIsRefused: /.well-known/carddav
// redirecting to another server is refused with a message naming it, as
// a 301 (which Go would turn into a GET) or as a 308.
func TestDiscoveryRedirectToAnotherServerIsRefused(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	for _, status := range []int{http.StatusMovedPermanently, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := hostileBook(t, "PROPFIND", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/dav/", status)
			})
			cfg := DefaultConfig()
			cfg.Server, cfg.AddressBook, cfg.Username, cfg.Password = srv.URL, "Connect", "alice", secretOf(password)
			errs := open(t, cfg, newMemo()).Deliver(t.Context(), created("1"))
			want := "the server redirected to another server, " + other.URL
			if !errors.Is(errs[0], sinks.ErrUnavailable) || !strings.Contains(errs[0].Error(), want) {
				t.Errorf("%v, want ErrUnavailable and %q", errs[0], want)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other server got %d requests", n)
	}
}
