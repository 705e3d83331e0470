package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/davtest"
)

// TestCardDAVEndToEnd syncs the fake workspace into a real address book
// with the real binary: the first sync uploads every card, an edit reaches
// its card, and a lost state file makes no duplicates.
// davSink is a carddav sink named phone for the book at url, created if
// missing, with srv's credentials.
func davSink(srv *davtest.Server, url string) string {
	return fmt.Sprintf("  - name: phone\n    type: carddav\n    url: %s\n    create_addressbook: true\n    username: %q\n    password: %q\n", url, srv.Username, srv.Password)
}

func TestCardDAVEndToEnd(t *testing.T) {
	for _, start := range []func(testing.TB) *davtest.Server{davtest.StartRadicale, davtest.StartXandikos} {
		srv := start(t)
		t.Run(srv.Name, func(t *testing.T) {
			w := newWorkspace(t, 12)
			book := srv.Home + "connect/"
			base, _ := os.ReadFile(w.config)
			w.writeConfig(string(base) + davSink(srv, book))
			sync := func() {
				t.Helper()
				r := w.run(nil, "sync")
				if r.code != 0 {
					t.Fatalf("sync: exit %d\n%s", r.code, r.stderr)
				}
				if srv.Password != "" && strings.Contains(r.stdout+r.stderr, srv.Password) {
					t.Error("the DAV password leaked into the output")
				}
			}
			sync()
			if cards := listCards(t, srv, book); len(cards) != 12 {
				t.Fatalf("%d cards after the first sync, want 12", len(cards))
			}

			id := w.api.IDs()[3]
			w.api.Edit(id, func(c map[string]any) { c["note"] = "Called back on Tuesday" })
			sync()
			found := 0
			for _, href := range listCards(t, srv, book) {
				if strings.Contains(getCard(t, srv, href), "Called back on Tuesday") {
					found++
				}
			}
			if found != 1 {
				t.Errorf("%d cards carry the edit, want 1", found)
			}

			os.Remove(w.path("state.db"))
			sync()
			if cards := listCards(t, srv, book); len(cards) != 12 {
				t.Errorf("%d cards after a sync with a lost state file, want 12 (no duplicates)", len(cards))
			}
			if r := w.run(nil, "status", "--json"); srv.Password != "" && strings.Contains(r.stdout+r.stderr, srv.Password) {
				t.Error("the DAV password shows in status")
			}
		})
	}
}

// listCards lists the hrefs of the .vcf resources in a collection with a
// raw PROPFIND, independent of the sink's client.
func listCards(t *testing.T, srv *davtest.Server, book string) []string {
	t.Helper()
	req, _ := http.NewRequest("PROPFIND", book, strings.NewReader(`<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>`))
	req.Header.Set("Depth", "1")
	req.Header.Set("Content-Type", "application/xml")
	var ms struct {
		Responses []struct {
			Href string `xml:"href"`
		} `xml:"response"`
	}
	body := do(t, srv, req, http.StatusMultiStatus)
	if err := xml.Unmarshal(body, &ms); err != nil {
		t.Fatal(err)
	}
	var hrefs []string
	for _, r := range ms.Responses {
		if strings.HasSuffix(r.Href, ".vcf") {
			hrefs = append(hrefs, r.Href)
		}
	}
	return hrefs
}

func getCard(t *testing.T, srv *davtest.Server, href string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.Root+href, nil)
	return string(do(t, srv, req, http.StatusOK))
}

func do(t *testing.T, srv *davtest.Server, req *http.Request, want int) []byte {
	t.Helper()
	if srv.Username != "" {
		req.SetBasicAuth(srv.Username, srv.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s\n%s", req.Method, req.URL, resp.Status, body)
	}
	return body
}
