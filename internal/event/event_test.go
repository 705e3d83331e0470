package event

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
)

func mustParse(t *testing.T, raw string) *contact.Contact {
	t.Helper()
	c, err := contact.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// Each kind encodes to its type, then the workspace, the contact verbatim
// (1.50 stays 1.50, "<" and "&" unescaped), previous null for a creation
// and changedFields never null.
func TestEncode(t *testing.T) {
	cur := mustParse(t, `{"id":7,"score":1.50,"note":"<b>VIP</b> & co","custom":{"x":null}}`)
	prev := mustParse(t, `{"id":7,"score":1.25}`)
	at := time.Date(2026, 3, 1, 9, 30, 15, 250_000_000, time.FixedZone("CET", 3600))
	tests := []struct {
		ch   contact.Change
		want string
	}{
		{contact.Change{ID: "msg_1", Kind: contact.Created, DetectedAt: at, Contact: *cur},
			`{"type":"contact.created","workspace":"acme","timestamp":"2026-03-01T08:30:15.25Z","data":{"contact":{"id":7,"score":1.50,"note":"<b>VIP</b> & co","custom":{"x":null}},"previous":null,"changedFields":[]}}`},
		{contact.Change{ID: "msg_2", Kind: contact.Updated, DetectedAt: at, Contact: *cur, Previous: prev, ChangedFields: []string{"score"}},
			`{"type":"contact.updated","workspace":"acme","timestamp":"2026-03-01T08:30:15.25Z","data":{"contact":{"id":7,"score":1.50,"note":"<b>VIP</b> & co","custom":{"x":null}},"previous":{"id":7,"score":1.25},"changedFields":["score"]}}`},
		{contact.Change{ID: "msg_3", Kind: contact.Deleted, DetectedAt: at, Contact: *prev, Previous: prev},
			`{"type":"contact.deleted","workspace":"acme","timestamp":"2026-03-01T08:30:15.25Z","data":{"contact":{"id":7,"score":1.25},"previous":{"id":7,"score":1.25},"changedFields":[]}}`},
	}
	for _, tt := range tests {
		got, err := Encode("acme", tt.ch)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.ch.Kind, got, tt.want)
		}
		// A re-delivery must send the same bytes.
		if again, _ := Encode("acme", tt.ch); !bytes.Equal(again, got) {
			t.Errorf("%s: encoded again differently:\n%s\n%s", tt.ch.Kind, got, again)
		}
		if !json.Valid(got) || bytes.Contains(got, []byte(`"id":"msg_`)) {
			t.Errorf("%s: invalid JSON or the id inside an event sent alone: %s", tt.ch.Kind, got)
		}
	}
}

func TestKinds(t *testing.T) {
	for _, k := range Kinds() {
		if typ, ok := Type(k); !ok || typ != "contact."+string(k) {
			t.Errorf("Type(%s) = %q, %v", k, typ, ok)
		}
	}
	if _, err := Encode("default", contact.Change{Kind: "merged"}); err == nil {
		t.Error("an unknown kind encodes")
	}
}
