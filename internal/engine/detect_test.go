package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

func TestContentHash(t *testing.T) {
	base := `{"id": 1, "email": "a@example.com", "leadStatus": {"id": 1, "label": "New"}, "lastActivityAt": "2024-01-01T00:00:00Z"}`
	tests := []struct {
		name  string
		other string
		same  bool
	}{
		{"key order and spacing", `{"lastActivityAt":"2024-01-01T00:00:00Z","leadStatus":{"id":1,"label":"New"},"email":"a@example.com","id":1}`, true},
		{"null equals missing", `{"id": 1, "email": "a@example.com", "leadStatus": {"id": 1, "label": "New"}, "note": null, "lastActivityAt": "2024-01-01T00:00:00Z"}`, true},
		{"lastActivityAt is not content", `{"id": 1, "email": "a@example.com", "leadStatus": {"id": 1, "label": "New"}, "lastActivityAt": "2025-01-01T00:00:00Z"}`, true},
		{"edited value", `{"id": 1, "email": "b@example.com", "leadStatus": {"id": 1, "label": "New"}, "lastActivityAt": "2024-01-01T00:00:00Z"}`, false},
		{"nested value", `{"id": 1, "email": "a@example.com", "leadStatus": {"id": 2, "label": "New"}, "lastActivityAt": "2024-01-01T00:00:00Z"}`, false},
		{"new unknown field", `{"id": 1, "email": "a@example.com", "leadStatus": {"id": 1, "label": "New"}, "lastActivityAt": "2024-01-01T00:00:00Z", "x": 1}`, false},
		{"value moved between keys", `{"id": 1, "emai": "la@example.com", "leadStatus": {"id": 1, "label": "New"}, "lastActivityAt": "2024-01-01T00:00:00Z"}`, false},
	}
	_, a, err := reduce(json.RawMessage(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, b, err := reduce(json.RawMessage(tt.other))
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Hash == b.Hash; got != tt.same {
				t.Errorf("same hash = %v, want %v", got, tt.same)
			}
		})
	}
}

// TestContentHashIsStable pins the hash's format: a new format would make
// every tracked contact look edited, and send them all again.
func TestContentHashIsStable(t *testing.T) {
	raw := `{"id": 7, "email": "a@example.com", "note": "Zoë \"q\"", "phoneNumbers": [{"number": "+1 555", "type": "work"}], ` +
		`"leadStatus": {"id": 1, "label": "New"}, "lastActivityAt": "2024-01-01T00:00:00Z", "x": null}`
	_, entry, err := reduce(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", entry.Hash); got != "01177f71e8e0b108a49ae80f09fa8dee" {
		t.Errorf("content hash %s: its format changed", got)
	}
}

func TestReduceRejectsMissingID(t *testing.T) {
	for _, raw := range []string{`{"email": "a@example.com"}`, `{"id": null}`, `{"id": ""}`} {
		if _, _, err := reduce(json.RawMessage(raw)); err == nil {
			t.Errorf("reduce(%s) accepted a contact without id", raw)
		}
	}
}

func TestChangedFields(t *testing.T) {
	tests := []struct {
		name, before, after string
		want                []string
	}{
		{"none", `{"id":1,"email":"a"}`, `{"id":1,"email":"a"}`, nil},
		{"edited", `{"id":1,"email":"a","note":"x"}`, `{"id":1,"email":"b","note":"x"}`, []string{"email"}},
		{"added and removed", `{"id":1,"note":"x"}`, `{"id":1,"jobTitle":"CEO"}`, []string{"jobTitle", "note"}},
		{"null is missing", `{"id":1,"note":null}`, `{"id":1}`, nil},
		{"activity", `{"id":1,"lastActivityAt":"2024-01-01T00:00:00Z"}`, `{"id":1,"lastActivityAt":"2024-02-01T00:00:00Z"}`, []string{"lastActivityAt"}},
		{"nested", `{"id":1,"leadStatus":{"id":1}}`, `{"id":1,"leadStatus":{"id": 2}}`, []string{"leadStatus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var after map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tt.after), &after); err != nil {
				t.Fatal(err)
			}
			got, err := changedFields(json.RawMessage(tt.before), after)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDifferRecognisesContactsByBytesThenByContent(t *testing.T) {
	stored := `{"id": 1, "email": "a@example.com", "lastActivityAt": "2024-01-01T00:00:00Z"}`
	id, entry, err := reduce(json.RawMessage(stored))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                 string
		sent                 string
		changed, refreshed   int
		wantRefreshedRawHash bool
	}{
		{"the same bytes", stored, 0, 0, false},
		{"other key order and spacing", `{"lastActivityAt":"2024-01-01T00:00:00Z","email":"a@example.com","id":1}`, 0, 1, true},
		{"an edit", `{"id": 1, "email": "b@example.com", "lastActivityAt": "2024-01-01T00:00:00Z"}`, 1, 0, false},
		{"new activity only", `{"id": 1, "email": "a@example.com", "lastActivityAt": "2024-02-01T00:00:00Z"}`, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDiffer(map[string]state.Entry{id: entry}, t.TempDir())
			if err := d.observe(json.RawMessage(tt.sent)); err != nil {
				t.Fatal(err)
			}
			p := d.plan(nil, nil, time.Time{})
			defer p.Close()
			if p.Updated != tt.changed || len(p.Refreshed()) != tt.refreshed || p.Deleted != 0 {
				t.Fatalf("updated %d, refreshed %d, deleted %d; want %d, %d, 0", p.Updated, len(p.Refreshed()), p.Deleted, tt.changed, tt.refreshed)
			}
			if tt.wantRefreshedRawHash && p.Refreshed()[0].Entry.Raw != rawHash([]byte(tt.sent)) {
				t.Error("the refreshed entry does not recognise the new bytes")
			}
		})
	}
}

func TestDifferCountsADuplicateOnce(t *testing.T) {
	old, edited := `{"id": 1, "email": "a@example.com"}`, `{"id": 1, "email": "b@example.com"}`
	_, entry, err := reduce(json.RawMessage(old))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		tracked   bool
		sent      []string
		wantEmail string // of the change; empty for none
	}{
		{"new, twice", false, []string{old, edited, old}, "a@example.com"},
		{"tracked: the old bytes first", true, []string{old, edited}, ""},
		{"tracked: an edit first", true, []string{edited, old}, "b@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkpoint := map[string]state.Entry{}
			if tt.tracked {
				checkpoint["1"] = entry
			}
			d := newDiffer(checkpoint, t.TempDir())
			for _, raw := range tt.sent {
				if err := d.observe(json.RawMessage(raw)); err != nil {
					t.Fatal(err)
				}
			}
			p := d.plan(emptySnapshots{}, enricher(nil), time.Time{})
			defer p.Close()
			var emails []string
			for batch, err := range p.Batches(t.Context()) {
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range batch {
					emails = append(emails, d.Change.Contact.Email)
				}
			}
			want := []string{tt.wantEmail}
			if tt.wantEmail == "" {
				want = nil
			}
			if p.Fetched != 1 || !slices.Equal(emails, want) {
				t.Errorf("fetched %d, changes with emails %q; want 1 and %q: the first copy counts, once", p.Fetched, emails, want)
			}
		})
	}
}

type emptySnapshots struct{}

func (emptySnapshots) Checkpoint(context.Context) (map[string]state.Entry, error) { return nil, nil }

func (emptySnapshots) IDs(context.Context) ([]string, error) { return nil, nil }

func (emptySnapshots) Snapshots(context.Context, []string) (map[string]json.RawMessage, error) {
	return nil, nil
}

// A contact the source skipped without a readable id may be any tracked
// contact the fetch did not return: none of them is deleted.
func TestSkippedWithoutAnIDHoldsDeletions(t *testing.T) {
	checkpoint := map[string]state.Entry{"1": {}, "2": {}}
	for _, tt := range []struct {
		name    string
		skipped contact.Skipped
		deleted int
	}{
		{"id read", contact.Skipped{ID: "9", Position: 2, Reason: "larger than 4 MiB"}, 2},
		{"id unreadable", contact.Skipped{Position: 2, Reason: "larger than 4 MiB"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := newDiffer(checkpoint, t.TempDir())
			d.skip([]contact.Skipped{tt.skipped})
			p := d.plan(emptySnapshots{}, enricher(nil), time.Now())
			defer p.Close()
			if p.Deleted != tt.deleted || p.HeldDeletions != (tt.deleted == 0) {
				t.Errorf("%d deleted, held %v; want %d", p.Deleted, p.HeldDeletions, tt.deleted)
			}
		})
	}
}
