package carddav

import (
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

const password = "hunter2-do-not-print"

// fakeBook is an address book that answers each card's PUT with the status
// its contact id asks for ("status-500", "status-403"), and 201 otherwise.
func fakeBook(t *testing.T, puts *atomic.Int32) *httptest.Server {
	basic := func(r *http.Request) bool {
		user, pass, _ := r.BasicAuth()
		return user == "alice" && pass == password
	}
	return newFakeBook(t, puts, basic, httptest.NewServer)
}

// newFakeBook is fakeBook with its own check of the credentials, served
// by start (httptest.NewServer or NewTLSServer).
func newFakeBook(t *testing.T, puts *atomic.Int32, authorized func(*http.Request) bool, start func(http.Handler) *httptest.Server) *httptest.Server {
	srv := start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r) {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		switch r.Method {
		case "PROPFIND":
			w.WriteHeader(http.StatusMultiStatus)
			fmt.Fprint(w, `<multistatus xmlns="DAV:"><response><href>/book/</href><propstat><prop><resourcetype><collection/><addressbook xmlns="urn:ietf:params:xml:ns:carddav"/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`)
		case "REPORT":
			w.WriteHeader(http.StatusMultiStatus)
			fmt.Fprint(w, `<multistatus xmlns="DAV:"/>`)
		case http.MethodPut:
			puts.Add(1)
			if r.Header.Get("X-Test-Status") == "precondition" {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><C:no-uid-conflict><D:href>/book/x.vcf</D:href></C:no-uid-conflict></D:error>`)
				return
			}
			var code int
			if _, err := fmt.Sscanf(r.Header.Get("X-Test-Status"), "%d", &code); err == nil {
				http.Error(w, "refused by the test", code)
				return
			}
			w.Header().Set("ETag", `"1"`)
			w.WriteHeader(http.StatusCreated)
		default:
			http.Error(w, "unexpected", http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// statusHeader makes the fake answer a contact's PUT with a status: the
// status rides on a header the test transport adds from the contact id.
type statusHeader struct{ next http.RoundTripper }

func (s statusHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	for _, code := range []string{"400", "403", "500", "503", "precondition"} {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, contactFile("status-"+code)) {
			r = r.Clone(r.Context())
			r.Header.Set("X-Test-Status", code)
		}
	}
	return s.next.RoundTrip(r)
}

func contactFile(id string) string {
	return strings.TrimSuffix(fileName(uidOf(id)), ".vcf")
}

func fakeSink(t *testing.T, srv *httptest.Server, pass string) *Sink {
	cfg := DefaultConfig()
	cfg.URL, cfg.Username, cfg.Password, cfg.Concurrency = srv.URL+"/book/", "alice", secretOf(pass), 1
	s := open(t, cfg, newMemo())
	tr := s.client.http.Transport.(*authTransport)
	tr.next = statusHeader{tr.next}
	return s
}

func created(ids ...string) []contact.Change {
	var batch []contact.Change
	for _, id := range ids {
		batch = append(batch, change(contact.Created, contact.Contact{ID: id, FullName: "Person " + id}))
	}
	return batch
}

func TestStatusErrors(t *testing.T) {
	var puts atomic.Int32
	srv := fakeBook(t, &puts)
	errs := fakeSink(t, srv, password).Deliver(t.Context(), created("ok", "status-500", "status-400", "ok2"))
	if errs[0] != nil || errs[3] != nil {
		t.Errorf("good cards: %v, %v", errs[0], errs[3])
	}
	if err := errs[1]; err == nil || errors.Is(err, sinks.ErrUnavailable) || errors.Is(err, sinks.ErrPermanent) ||
		!strings.Contains(err.Error(), "500 Internal Server Error") {
		t.Errorf("500: %v, want an error of that card alone", err)
	}
	want := "carddav: PUT " + srv.URL + "/book/" + contactFile("status-400") + ".vcf: 400 Bad Request: refused by the test"
	if err := errs[2]; !errors.Is(err, sinks.ErrPermanent) || err.Error() != want {
		t.Errorf("400: %v, want ErrPermanent %q", err, want)
	}
}

// TestRefused: credentials refused on a PUT stop the batch; the cards not
// sent yet stay queued with the same cause.
func TestRefused(t *testing.T) {
	var puts atomic.Int32
	srv := fakeBook(t, &puts)
	errs := fakeSink(t, srv, password).Deliver(t.Context(), created("ok", "status-403", "later", "later2"))
	if errs[0] != nil {
		t.Errorf("first card: %v", errs[0])
	}
	for i, err := range errs[1:] {
		if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), "403 Forbidden") {
			t.Errorf("card %d: %v, want ErrUnavailable with the 403", i+1, err)
		}
	}
	if n := puts.Load(); n != 2 {
		t.Errorf("%d PUTs, want 2: none after the 403", n)
	}
}

func TestUnauthorized(t *testing.T) {
	var puts atomic.Int32
	srv := fakeBook(t, &puts)
	wrong := "wrong-" + password
	for _, err := range fakeSink(t, srv, wrong).Deliver(t.Context(), created("1", "2")) {
		want := "carddav: PROPFIND " + srv.URL + "/book/: 401 Unauthorized: check username and password"
		if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want ErrUnavailable and %q", err, want)
		}
		if strings.Contains(err.Error(), wrong) {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if puts.Load() != 0 {
		t.Errorf("PUTs sent with refused credentials")
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := DefaultConfig()
	cfg.URL = "http://" + addr + "/book/"
	for _, err := range open(t, cfg, newMemo()).Deliver(t.Context(), created("1", "2")) {
		if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error %v, want ErrUnavailable naming the refused connection", err)
		}
	}
}

// TestServerDown: a 503 stops the batch, as a server that is down would
// otherwise make every card wait out the same failure.
func TestServerDown(t *testing.T) {
	var puts atomic.Int32
	srv := fakeBook(t, &puts)
	errs := fakeSink(t, srv, password).Deliver(t.Context(), created("status-503", "later", "later2"))
	for i, err := range errs {
		if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), "503 Service Unavailable") {
			t.Errorf("card %d: %v, want ErrUnavailable with the 503", i, err)
		}
	}
	if n := puts.Load(); n != 1 {
		t.Errorf("%d PUTs, want 1: none after the 503", n)
	}
}

// methodCounter counts the requests of each method.
type methodCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (m *methodCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	m.mu.Lock()
	m.n[r.Method]++
	m.mu.Unlock()
	return m.next.RoundTrip(r)
}

// TestBookListedOnlyWithoutAMemo: the book is listed to adopt cards only
// when the sink remembers none (lost state), not for every new contact.
func TestBookListedOnlyWithoutAMemo(t *testing.T) {
	var puts atomic.Int32
	srv := fakeBook(t, &puts)
	m := newMemo()
	for run, want := range []int{1, 0} {
		cfg := DefaultConfig()
		cfg.URL, cfg.Username, cfg.Password = srv.URL+"/book/", "alice", secretOf(password)
		s := open(t, cfg, m)
		tr := s.client.http.Transport.(*authTransport)
		counter := &methodCounter{next: tr.next, n: map[string]int{}}
		tr.next = counter
		ids := []string{fmt.Sprintf("new-%d-a", run), fmt.Sprintf("new-%d-b", run)}
		for i, err := range s.Deliver(t.Context(), created(ids...)) {
			if err != nil {
				t.Fatalf("run %d, card %d: %v", run, i, err)
			}
		}
		if counter.n["REPORT"] != want {
			t.Errorf("run %d: %d listings, want %d", run, counter.n["REPORT"], want)
		}
	}
}

// TestFailedPreconditionConcernsOneCard: a 403 that names a precondition
// refuses that card for good; the rest of the batch goes on.
func TestFailedPreconditionConcernsOneCard(t *testing.T) {
	var puts atomic.Int32
	srv := fakeBook(t, &puts)
	errs := fakeSink(t, srv, password).Deliver(t.Context(), created("status-precondition", "later"))
	if !errors.Is(errs[0], sinks.ErrPermanent) || !strings.Contains(errs[0].Error(), "no-uid-conflict") {
		t.Errorf("card 0: %v, want ErrPermanent naming no-uid-conflict", errs[0])
	}
	if errs[1] != nil {
		t.Errorf("card 1: %v, want it written", errs[1])
	}
}

// TestBearerTokenOverPrivateTLS writes to a server whose certificate only
// tls_ca_file vouches for, with a bearer token from a file.
func TestBearerTokenOverPrivateTLS(t *testing.T) {
	var puts atomic.Int32
	bearer := func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer tok-123" }
	srv := newFakeBook(t, &puts, bearer, httptest.NewTLSServer)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	token := filepath.Join(dir, "token")
	writeFile(t, token, "tok-123\n")

	cfg := DefaultConfig()
	cfg.URL, cfg.BearerTokenFile = srv.URL+"/book/", token
	without := *cfg
	errs := open(t, &without, newMemo()).Deliver(t.Context(), created("a"))
	if !errors.Is(errs[0], sinks.ErrUnavailable) || !strings.Contains(errs[0].Error(), "certificate") {
		t.Errorf("without tls_ca_file: %v, want an unavailable server with an untrusted certificate", errs[0])
	}
	cfg.TLSCAFile = ca
	if errs := open(t, cfg, newMemo()).Deliver(t.Context(), created("a", "b")); errs[0] != nil || errs[1] != nil {
		t.Fatalf("with tls_ca_file and the token: %v", errs)
	}
	if n := puts.Load(); n != 2 {
		t.Errorf("%d PUTs, want 2", n)
	}
}
