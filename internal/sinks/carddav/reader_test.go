package carddav

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"

	"github.com/connect-sync/connect-sync/internal/davtest"
)

// reader reads an address book back with plain PROPFIND and GET requests,
// independently of the sink and of go-webdav, and edits cards as another
// client would.
type reader struct {
	t                  *testing.T
	username, password string
}

func newReader(t *testing.T, s *davtest.Server) *reader {
	return &reader{t: t, username: s.Username, password: s.Password}
}

// stored is one card in the book.
type stored struct {
	href string
	etag string
	raw  []byte
	card vcard.Card
}

// cards lists the book at bookURL: every resource below it, by UID.
func (r *reader) cards(bookURL string) map[string]stored {
	r.t.Helper()
	const propfind = `<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>`
	resp := r.do("PROPFIND", bookURL, map[string]string{"Depth": "1", "Content-Type": "application/xml"}, propfind)
	if resp.code != http.StatusMultiStatus {
		r.t.Fatalf("PROPFIND %s: %d %s", bookURL, resp.code, resp.body)
	}
	var ms struct {
		Responses []struct {
			Href string `xml:"DAV: href"`
		} `xml:"DAV: response"`
	}
	if err := xml.Unmarshal(resp.body, &ms); err != nil {
		r.t.Fatalf("PROPFIND %s: %v", bookURL, err)
	}
	book, _ := url.Parse(bookURL)
	cards := map[string]stored{}
	for _, res := range ms.Responses {
		u, err := book.Parse(res.Href)
		if err != nil {
			r.t.Fatal(err)
		}
		if strings.TrimSuffix(u.Path, "/") == strings.TrimSuffix(book.Path, "/") {
			continue
		}
		c := r.get(u.String())
		uid := c.card.Value(vcard.FieldUID)
		if _, dup := cards[uid]; dup {
			r.t.Errorf("two cards with UID %s: %s and %s", uid, cards[uid].href, c.href)
		}
		cards[uid] = c
	}
	return cards
}

func (r *reader) get(cardURL string) stored {
	r.t.Helper()
	resp := r.do(http.MethodGet, cardURL, nil, "")
	if resp.code != http.StatusOK {
		r.t.Fatalf("GET %s: %d", cardURL, resp.code)
	}
	c, err := vcard.NewDecoder(bytes.NewReader(resp.body)).Decode()
	if err != nil {
		r.t.Fatalf("GET %s: %v\n%s", cardURL, err, resp.body)
	}
	return stored{href: cardURL, etag: resp.header.Get("ETag"), raw: resp.body, card: c}
}

// put writes a card unconditionally, as a phone would after a user's edit.
func (r *reader) put(cardURL string, raw []byte) {
	r.t.Helper()
	resp := r.do(http.MethodPut, cardURL, map[string]string{"Content-Type": "text/vcard"}, string(raw))
	if resp.code/100 != 2 {
		r.t.Fatalf("PUT %s: %d %s", cardURL, resp.code, resp.body)
	}
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r *reader) do(method, target string, header map[string]string, body string) response {
	r.t.Helper()
	req, err := http.NewRequestWithContext(r.t.Context(), method, target, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if r.username != "" {
		req.SetBasicAuth(r.username, r.password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}
