package carddav

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/secret/secrettest"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// echoServer is an address book whose every refusal quotes the request's
// Authorization header back, as echo says: in a plain-text body (a 400
// to the card "refused", a 503 to "down", and to every discovery
// request but the well-known one), in a redirect's location ("moved")
// and in a malformed status line ("garbled").
func echoServer(t *testing.T, echo func(string) string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		quote := echo(r.Header.Get("Authorization"))
		refuse := func(code int) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(code)
			io.WriteString(w, quote)
		}
		switch {
		case r.URL.Path == "/.well-known/carddav":
			http.NotFound(w, r)
		case r.Method == "PROPFIND" && r.URL.Path == "/book/":
			w.WriteHeader(http.StatusMultiStatus)
			fmt.Fprint(w, `<multistatus xmlns="DAV:"><response><href>/book/</href><propstat><prop><resourcetype><collection/><addressbook xmlns="urn:ietf:params:xml:ns:carddav"/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`)
		case r.Method == "REPORT":
			w.WriteHeader(http.StatusMultiStatus)
			fmt.Fprint(w, `<multistatus xmlns="DAV:"/>`)
		case strings.Contains(r.URL.Path, contactFile("moved")):
			http.Redirect(w, r, "/elsewhere/"+strings.ReplaceAll(quote, " ", "-"), http.StatusTemporaryRedirect)
		case strings.Contains(r.URL.Path, contactFile("garbled")):
			conn, _, _ := w.(http.Hijacker).Hijack()
			io.WriteString(conn, "HTTP/1.1 "+strings.ReplaceAll(quote, " ", "_")+"\r\n\r\n")
			conn.Close()
		case strings.Contains(r.URL.Path, contactFile("down")):
			refuse(http.StatusServiceUnavailable)
		default:
			refuse(http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A server that quotes the credentials back, in any echo, has none of
// them shown in the sink's errors or logs: neither the password, nor the
// basic auth header made of it, nor a bearer token.
func TestEchoedSecretsNeverShown(t *testing.T) {
	const token = "dav-bearer-0123456789abcdef"
	for name, echo := range secrettest.Echoes {
		t.Run(name, func(t *testing.T) {
			srv := echoServer(t, echo)
			basic := DefaultConfig()
			basic.Username, basic.Password = "alice", secretOf(password)
			bearer := DefaultConfig()
			bearer.BearerToken = secretOf(token)
			var shown []string
			for _, cfg := range []*Config{basic, bearer} {
				secrets := append([]string{password, token}, basicAuth("alice", secretOf(password)).Reveal())
				var logs bytes.Buffer
				env := sinks.Env{Name: "dav", Logger: slog.New(slog.NewTextHandler(&logs, nil)), SourceURL: sourceURL, Memo: newMemo()}
				cfg.URL, cfg.Server, cfg.AddressBook, cfg.Concurrency = srv.URL+"/book/", "", "", 1
				book, err := cfg.Open(env)
				if err != nil {
					t.Fatal(err)
				}
				for _, err := range book.Deliver(t.Context(), created("refused", "down")) {
					shown = append(shown, fmt.Sprint(err))
				}
				for _, id := range []string{"moved", "garbled"} {
					shown = append(shown, fmt.Sprint(book.Deliver(t.Context(), created(id))))
				}
				// Discovery, where go-webdav quotes the body itself.
				cfg.URL, cfg.Server, cfg.AddressBook = "", srv.URL+"/", "Contacts"
				env.Memo = newMemo()
				found, err := cfg.Open(env)
				if err != nil {
					t.Fatal(err)
				}
				shown = append(shown, fmt.Sprint(found.Deliver(t.Context(), created("1"))), fmt.Sprint(found.(sinks.Checker).Check(t.Context())))
				shown = append(shown, logs.String())
				book.(*Sink).Close()
				found.(*Sink).Close()
				for _, text := range shown {
					for _, s := range secrets {
						if leak := secrettest.Leak(text, s); leak != "" {
							t.Errorf("%q shows %q of secret %q", text, leak, s)
						}
					}
				}
			}
			if !strings.Contains(shown[0], "[redacted]") {
				t.Errorf("nothing was redacted: %s", shown[0])
			}
		})
	}
}

// Secrets as short as "book" or "1" (another sink's password, say) are
// redacted from what the server says, never from the sink's own words,
// nor from the url of the config.
func TestOwnWordsKept(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "PROPFIND":
			w.WriteHeader(http.StatusMultiStatus)
			fmt.Fprint(w, `<multistatus xmlns="DAV:"><response><href>/book/</href><propstat><prop><resourcetype><collection/><addressbook xmlns="urn:ietf:params:xml:ns:carddav"/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`)
		case r.Method == "REPORT":
			w.WriteHeader(http.StatusMultiStatus)
			fmt.Fprint(w, `<multistatus xmlns="DAV:"/>`)
		case strings.Contains(r.URL.Path, contactFile("refused")):
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "card 1 refused by the book server")
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(srv.Close)
	cfg := DefaultConfig()
	cfg.URL, cfg.Username, cfg.Password, cfg.Concurrency = srv.URL+"/book/", "alice", secretOf(password), 1
	words := secret.NewRedactor(secret.New("book"), secret.New("1"), secret.New("carddav"), secret.New("username"))
	s, err := cfg.Open(sinks.Env{Name: "dav", SourceURL: sourceURL, Memo: newMemo(), Redactor: words})
	if err != nil {
		t.Fatal(err)
	}
	defer s.(*Sink).Close()
	errs := s.Deliver(t.Context(), created("refused", "other"))
	for i, want := range []string{
		"carddav: PUT " + srv.URL + "/book/" + contactFile("refused") + ".vcf: 400 Bad Request: card [redacted] refused by the [redacted] server",
		"carddav: PUT " + srv.URL + "/book/" + contactFile("other") + ".vcf: 401 Unauthorized: check username and password",
	} {
		if errs[i] == nil || errs[i].Error() != want {
			t.Errorf("error %d\n got %v\nwant %s", i, errs[i], want)
		}
	}
}
