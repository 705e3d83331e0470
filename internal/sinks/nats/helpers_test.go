package nats

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// rawContact is a contact as the API might send it: unknown fields, a
// number written with a trailing zero, characters json.Marshal would
// escape, and an enriched leadStatus.
func rawContact(id, email string) string {
	return fmt.Sprintf(`{"id":%s,"email":%q,"firstName":"Zoë","score":1.50,`+
		`"note":"<b>VIP</b> & friends","custom":{"tier":null},`+
		`"leadStatus":{"id":"2","label":"Won","type":"won","order":3}}`, id, email)
}

func parse(t testing.TB, raw string) contact.Contact {
	t.Helper()
	c, err := contact.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// change makes a change of contact id as the engine would: an update
// carries the previous snapshot and changed fields, a deletion the last
// snapshot.
func change(t testing.TB, kind contact.Kind, id string) contact.Change {
	t.Helper()
	cur := parse(t, rawContact(id, "new"+id+"@example.com"))
	prev := parse(t, rawContact(id, "old"+id+"@example.com"))
	ch := contact.Change{ID: "msg_" + string(kind) + "_" + id, Kind: kind, DetectedAt: time.Now(), Contact: cur}
	switch kind {
	case contact.Updated:
		ch.Previous, ch.ChangedFields = &prev, []string{"email"}
	case contact.Deleted:
		ch.Previous = &cur
	}
	return ch
}

// mixedChanges makes n changes of contacts "1" to n, the kinds in turn.
func mixedChanges(t testing.TB, n int) []contact.Change {
	kinds := []contact.Kind{contact.Created, contact.Updated, contact.Deleted}
	batch := make([]contact.Change, n)
	for i := range batch {
		batch[i] = change(t, kinds[i%len(kinds)], fmt.Sprint(i+1))
	}
	return batch
}

// open opens a sink on urls with the test's settings, closed when the
// test ends; its logs go to the returned buffer.
func open(t testing.TB, urls []string, edit func(*Config)) (*Sink, *bytes.Buffer) {
	t.Helper()
	c := DefaultConfig()
	c.URLs = urls
	c.Timeout = 5 * time.Second
	if edit != nil {
		edit(c)
	}
	var logs bytes.Buffer
	s, err := c.Open(sinks.Env{Name: "bus", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.(*Sink).Close() })
	return s.(*Sink), &logs
}
