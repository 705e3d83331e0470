// Package eventtest makes contacts and changes for the sinks' tests and
// benchmarks: contacts as the API might send them, generated workspaces,
// and changes as the engine would make them.
package eventtest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

// RawContact is a contact as the API might send it: unknown fields, a
// number written with a trailing zero, characters json.Marshal would
// escape, and an enriched leadStatus.
func RawContact(id, email string) string {
	return fmt.Sprintf(`{"id":%s,"email":%q,"firstName":"Zoë","score":1.50,`+
		`"note":"<b>VIP</b> & friends","custom":{"tier":null},`+
		`"leadStatus":{"id":"2","label":"Won","type":"won","order":3}}`, id, email)
}

// Parse parses a contact, failing the test if it cannot.
func Parse(t testing.TB, raw string) contact.Contact {
	t.Helper()
	c, err := contact.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Change makes a change of contact id, detected now, as the engine would
// make it: an update carries the previous snapshot and changed fields, a
// deletion the last snapshot.
func Change(t testing.TB, kind contact.Kind, id string) contact.Change {
	t.Helper()
	cur := Parse(t, RawContact(id, "new"+id+"@example.com"))
	prev := Parse(t, RawContact(id, "old"+id+"@example.com"))
	ch := contact.Change{ID: "msg_" + string(kind) + "_" + id, Kind: kind, DetectedAt: time.Now(), Contact: cur}
	switch kind {
	case contact.Updated:
		ch.Previous, ch.ChangedFields = &prev, []string{"email"}
	case contact.Deleted:
		ch.Previous = &cur
	}
	return ch
}

// Changes makes n changes, of contacts "1" to n, of the kinds in turn.
func Changes(t testing.TB, n int, kinds ...contact.Kind) []contact.Change {
	t.Helper()
	batch := make([]contact.Change, n)
	for i := range batch {
		batch[i] = Change(t, kinds[i%len(kinds)], fmt.Sprint(i+1))
	}
	return batch
}

// Generated returns the n contacts of a generated workspace (the fake
// API's, seed 1), parsed.
func Generated(tb testing.TB, n int) []contact.Contact {
	tb.Helper()
	list := fakeconnect.Generated(fakeconnect.Options{Contacts: n, Seed: 1})
	contacts := make([]contact.Contact, len(list))
	for i, raw := range list {
		contacts[i] = Parse(tb, string(raw))
	}
	return contacts
}

// Replay returns the contacts that events leave a consumer holding, in
// the order they first appeared: each as the last event about it carries
// it, none that an event deleted.
func Replay(t testing.TB, events [][]byte) []string {
	t.Helper()
	var (
		order []string
		held  = map[string]string{}
	)
	for _, body := range events {
		var e struct {
			Type string
			Data struct{ Contact json.RawMessage }
		}
		var c struct{ ID json.RawMessage }
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("event %s: %v", body, err)
		}
		if err := json.Unmarshal(e.Data.Contact, &c); err != nil {
			t.Fatalf("event %s: %v", body, err)
		}
		id := string(c.ID)
		if _, ok := held[id]; !ok {
			order = append(order, id)
		}
		held[id] = string(e.Data.Contact)
		if e.Type == "contact.deleted" {
			delete(held, id)
		}
	}
	var contacts []string
	for _, id := range order {
		if c, ok := held[id]; ok {
			contacts = append(contacts, c)
			delete(held, id)
		}
	}
	return contacts
}
