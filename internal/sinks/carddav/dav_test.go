package carddav

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"

	"github.com/connect-sync/connect-sync/internal/card"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/davtest"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// servers are the real CardDAV servers every scenario runs against.
var servers = []struct {
	name  string
	start func(testing.TB) *davtest.Server
}{
	{"radicale", davtest.StartRadicale},
	{"xandikos", davtest.StartXandikos},
}

// people are the contacts of the scenarios; the first has text that needs
// escaping and folding.
var people = []contact.Contact{
	{
		ID: "1", FirstName: "Zoë", LastName: "Müller; Jr.", FullName: "Zoë Müller, Jr.",
		Email: "zoe@example.com", CompanyName: "Acme; Widgets, Inc.", JobTitle: "Head of Sales",
		Phones: []contact.Phone{{Number: "+49 30 1234567", Type: "mobile"}, {Number: "+1 555 0100", Type: "work"}},
		Note:   "Line one, with a comma; and a semicolon\nLine \"two\" \\ backslash, and a long line that the encoder folds: 日本語のメモはここに続きます",
	},
	{ID: "2", FirstName: "Ann", LastName: "Lee", Email: "ann@example.com"},
	{ID: "3", FullName: "Bob Stone", Email: "bob@example.com", Note: "from the fair"},
	{ID: "4", FullName: "Cleo Park", Phones: []contact.Phone{{Number: "030 999 888"}}},
	{ID: "5", Email: "only@example.com"},
}

func TestServers(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			s := srv.start(t)
			t.Run("sync", func(t *testing.T) { testSync(t, s) })
			t.Run("lost state", func(t *testing.T) { testLostState(t, s) })
			t.Run("conflict", func(t *testing.T) { testConflict(t, s) })
			t.Run("foreign card", func(t *testing.T) { testForeignCard(t, s) })
			t.Run("discovery", func(t *testing.T) { testDiscovery(t, s) })
		})
	}
}

// bookConfig is a sink config for a new book of its own below the home set.
func bookConfig(s *davtest.Server, name string) *Config {
	cfg := DefaultConfig()
	cfg.URL = s.Home + name + "/"
	cfg.CreateAddressBook = true
	cfg.Username, cfg.Password = s.Username, secretOf(s.Password)
	return cfg
}

// testSync: initial upload, update, a repeated delivery, delete.
func testSync(t *testing.T, s *davtest.Server) {
	cfg := bookConfig(s, "sync")
	m := newMemo()
	sink := open(t, cfg, m)
	r := newReader(t, s)

	var created []contact.Change
	for _, c := range people {
		created = append(created, change(contact.Created, c))
	}
	deliver(t, sink, created...)
	checkBook(t, r.cards(cfg.URL), people...)
	if n, _ := m.Len(t.Context()); n != len(people) {
		t.Errorf("memo holds %d contacts, want %d", n, len(people))
	}

	before := m.record(t, "2")
	ann := people[1]
	ann.Email, ann.CompanyName, ann.Note = "ann.lee@example.org", "Lee & Co", "moved"
	update := change(contact.Updated, ann)
	deliver(t, sink, update)
	after := m.record(t, "2")
	if after.Href != before.Href || after.ETag == before.ETag {
		t.Errorf("memo after the update %+v, before %+v: want the same href and a new ETag", after, before)
	}
	// At least once: the same update again, from a fresh sink that kept the memo.
	deliver(t, open(t, cfg, m), update)

	deliver(t, sink, change(contact.Deleted, people[4]))
	deliver(t, sink, change(contact.Deleted, people[4])) // already gone: fine
	if rec := m.record(t, "5"); rec != nil {
		t.Errorf("memo of a deleted contact: %+v", rec)
	}
	checkBook(t, r.cards(cfg.URL), people[0], ann, people[2], people[3])
}

// testLostState: a sink that lost its memo adopts the cards it finds (at
// its own hrefs, and one another client moved) instead of duplicating them.
func testLostState(t *testing.T, s *davtest.Server) {
	cfg := bookConfig(s, "lost")
	r := newReader(t, s)
	var created []contact.Change
	for _, c := range people[:4] {
		created = append(created, change(contact.Created, c))
	}
	deliver(t, open(t, cfg, newMemo()), created...)

	// Another client copies contact 4's card to a name of its own and
	// removes the original: only X-CONNECT-ID and UID tell it is ours.
	moved := r.cards(cfg.URL)[card.UID(sourceURL, "4")]
	r.do("DELETE", moved.href, nil, "")
	r.put(cfg.URL+"imported-by-phone.vcf", moved.raw)

	m := newMemo()
	bob := people[2]
	bob.Note = "changed while the state was lost"
	deliver(t, open(t, cfg, m),
		change(contact.Created, people[0]), change(contact.Created, people[1]),
		change(contact.Updated, bob), change(contact.Deleted, people[3]))
	checkBook(t, r.cards(cfg.URL), people[0], people[1], bob)
	if n, _ := m.Len(t.Context()); n != 3 {
		t.Errorf("memo holds %d contacts, want 3", n)
	}
}

// testConflict: a card edited on the server between runs is overwritten
// by default, and left alone, dead-lettered, with conflict_policy skip.
func testConflict(t *testing.T, s *davtest.Server) {
	cfg := bookConfig(s, "conflict")
	r := newReader(t, s)
	m := newMemo()
	deliver(t, open(t, cfg, m), change(contact.Created, people[1]), change(contact.Created, people[2]))

	edit := func(id string) {
		c := r.cards(cfg.URL)[card.UID(sourceURL, id)]
		r.put(c.href, bytes.Replace(c.raw, []byte("END:VCARD"), []byte("NICKNAME:edited on the phone\r\nEND:VCARD"), 1))
	}
	edit("2")
	edit("3")
	ann, bob := people[1], people[2]
	ann.Note, bob.Note = "from Connect", "from Connect"
	var conflicts []string
	count := func(resolution string) { conflicts = append(conflicts, resolution) }
	overwriting := open(t, cfg, m)
	overwriting.conflict = count
	deliver(t, overwriting, change(contact.Updated, ann))

	skip := bookConfig(s, "conflict")
	skip.ConflictPolicy = Skip
	skipping := open(t, skip, m)
	skipping.conflict = count
	errs := skipping.Deliver(t.Context(), []contact.Change{change(contact.Updated, bob)})
	if fmt.Sprint(conflicts) != "[overwritten skipped]" {
		t.Errorf("conflicts counted: %v, want [overwritten skipped]", conflicts)
	}
	if !errors.Is(errs[0], sinks.ErrPermanent) || !strings.Contains(errs[0].Error(), "conflict") {
		t.Errorf("skip: error %v, want a conflict that wraps ErrPermanent", errs[0])
	}
	cards := r.cards(cfg.URL)
	checkBook(t, cards, ann, people[2])
	if nick := cards[card.UID(sourceURL, "3")].card.Value(vcard.FieldNickname); nick != "edited on the phone" {
		t.Errorf("skip changed the edited card: NICKNAME %q", nick)
	}
}

// testForeignCard: a card connect-sync did not write is never changed,
// even where connect-sync would put the contact's card.
func testForeignCard(t *testing.T, s *davtest.Server) {
	cfg := bookConfig(s, "foreign")
	r := newReader(t, s)
	deliver(t, open(t, cfg, newMemo()), change(contact.Created, people[1]))
	foreign := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:someone-else\r\nFN:Not Ours\r\nN:Ours;Not;;;\r\nEND:VCARD\r\n"
	href := cfg.URL + fileName(card.UID(sourceURL, "3"))
	r.put(href, []byte(foreign))

	errs := open(t, cfg, newMemo()).Deliver(t.Context(), []contact.Change{change(contact.Created, people[2])})
	if !errors.Is(errs[0], sinks.ErrPermanent) {
		t.Errorf("error %v, want one that wraps ErrPermanent", errs[0])
	}
	if got := r.get(href).raw; string(got) != foreign {
		t.Errorf("the foreign card changed:\n%s", got)
	}
}

// testDiscovery: from the server root to a book picked by display name,
// created with an extended MKCOL the first time, found by path later.
func testDiscovery(t *testing.T, s *davtest.Server) {
	cfg := DefaultConfig()
	cfg.Server, cfg.AddressBook, cfg.CreateAddressBook = s.Root, "Connect Contacts", true
	cfg.Username, cfg.Password = s.Username, secretOf(s.Password)
	if err := open(t, cfg, newMemo()).Check(t.Context()); err != nil {
		t.Errorf("check of a book to create: %v", err)
	}
	if got := newReader(t, s).do("GET", s.Home+"connect-contacts/", nil, ""); got.code != 404 {
		t.Errorf("check created the book: GET answers %d", got.code)
	}
	deliver(t, open(t, cfg, newMemo()), change(contact.Created, people[0]))

	cfg.CreateAddressBook = false
	found := open(t, cfg, newMemo())
	deliver(t, found, change(contact.Created, people[1]))
	book := found.book.String()
	if book != s.Home+"connect-contacts/" {
		t.Errorf("discovered %s, want %sconnect-contacts/", book, s.Home)
	}
	checkBook(t, newReader(t, s).cards(book), people[0], people[1])

	cfg.AddressBook = "connect-contacts"
	if err := open(t, cfg, newMemo()).Check(t.Context()); err != nil {
		t.Errorf("by path: %v", err)
	}
	cfg.AddressBook = "Missing"
	if err := open(t, cfg, newMemo()).Check(t.Context()); !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), `no address book "Missing"`) {
		t.Errorf("missing book: %v", err)
	}
}

// checkBook compares the book's cards with the contacts, field by field.
func checkBook(t *testing.T, cards map[string]stored, want ...contact.Contact) {
	t.Helper()
	if len(cards) != len(want) {
		t.Errorf("the book holds %d cards, want %d", len(cards), len(want))
	}
	for _, c := range want {
		uid := card.UID(sourceURL, c.ID)
		got, ok := cards[uid]
		if !ok {
			t.Errorf("no card for contact %s (UID %s)", c.ID, uid)
			continue
		}
		checkCard(t, got.card, c)
	}
}

func checkCard(t *testing.T, got vcard.Card, c contact.Contact) {
	t.Helper()
	var wantFN string
	switch {
	case c.FullName != "":
		wantFN = c.FullName
	case c.FirstName+c.LastName != "":
		wantFN = strings.TrimSpace(c.FirstName + " " + c.LastName)
	default:
		wantFN = c.Email
	}
	var phones []string
	for _, p := range c.Phones {
		phones = append(phones, p.Number)
	}
	var gotN string
	if n := components(got.Get(vcard.FieldName)); len(n) > 1 {
		gotN = n[0] + "|" + n[1]
	}
	var gotPhones []string
	for _, f := range got[vcard.FieldTelephone] {
		gotPhones = append(gotPhones, f.Value)
	}
	checks := []struct{ field, got, want string }{
		{"FN", got.Value(vcard.FieldFormattedName), wantFN},
		{"N", gotN, c.LastName + "|" + c.FirstName},
		{"EMAIL", got.Value(vcard.FieldEmail), c.Email},
		{"TEL", fmt.Sprint(gotPhones), fmt.Sprint(phones)},
		{"ORG", strings.Join(components(got.Get(vcard.FieldOrganization)), ";"), c.CompanyName},
		{"NOTE", unescape(got.Value(vcard.FieldNote)), c.Note},
		{"UID", got.Value(vcard.FieldUID), card.UID(sourceURL, c.ID)},
		{"X-CONNECT-ID", got.Value(card.FieldConnectID), c.ID},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("contact %s: %s = %q, want %q", c.ID, ch.field, ch.got, ch.want)
		}
	}
}

// go-vcard leaves "\;" escaped in values and splits structured values at
// escaped semicolons too, so the tests undo the escaping themselves.

// unescape undoes the escaped semicolon go-vcard leaves in a TEXT value.
func unescape(v string) string { return strings.ReplaceAll(v, `\;`, ";") }

// components splits a structured value (N, ORG) at its unescaped
// semicolons.
func components(f *vcard.Field) []string {
	if f == nil {
		return nil
	}
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(f.Value); i++ {
		switch {
		case f.Value[i] == '\\' && i+1 < len(f.Value) && f.Value[i+1] == ';':
			cur.WriteByte(';')
			i++
		case f.Value[i] == ';':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(f.Value[i])
		}
	}
	return append(parts, cur.String())
}
