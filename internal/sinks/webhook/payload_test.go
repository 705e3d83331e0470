package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

var update = flag.Bool("update", false, "rewrite the golden bodies in testdata/")

// TestBodies compares the request bodies with testdata/*.json: one per
// kind of event, and a batch.
func TestBodies(t *testing.T) {
	tests := []struct {
		golden    string
		batchSize int
		batch     []contact.Change
	}{
		{"created.json", 1, []contact.Change{eventtest.Change(t, contact.Created, "1")}},
		{"updated.json", 1, []contact.Change{eventtest.Change(t, contact.Updated, "1")}},
		{"deleted.json", 1, []contact.Change{eventtest.Change(t, contact.Deleted, "1")}},
		{"batch.json", 2, []contact.Change{eventtest.Change(t, contact.Created, "1"), eventtest.Change(t, contact.Deleted, "2")}},
	}
	detected := time.Date(2026, 3, 1, 9, 30, 15, 250_000_000, time.FixedZone("CET", 3600))
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			for i := range tt.batch {
				tt.batch[i].DetectedAt = detected.Add(time.Duration(i) * time.Minute)
			}
			rc := newReceiver(t, nil)
			h := open(t, rc.URL, func(c *Config) { c.BatchSize = tt.batchSize })
			for _, err := range h.Deliver(t.Context(), tt.batch) {
				if err != nil {
					t.Fatal(err)
				}
			}
			got := rc.got()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			compareGolden(t, filepath.Join("testdata", tt.golden), got[0].Body)
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.TrimSuffix(want, []byte("\n"))) {
		t.Errorf("body differs from %s (run with -update to accept):\n got %s\nwant %s", path, got, want)
	}
}

// Every body names the workspace from Env right after its type: an event
// sent alone, a batch and each event in it.
func TestWorkspace(t *testing.T) {
	type named struct{ Type, Workspace string }
	decode := func(t *testing.T, body []byte) (named, []named) {
		t.Helper()
		var ev struct {
			named
			Data struct{ Events []named }
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(body, []byte(`{"type":"`+ev.Type+`","workspace":`)) {
			t.Errorf("workspace not right after type: %s", body)
		}
		return ev.named, ev.Data.Events
	}
	for _, want := range []string{"globex", "default"} {
		t.Run(want, func(t *testing.T) {
			rc := newReceiver(t, nil)
			cfg := DefaultConfig()
			cfg.URL, cfg.Secret, cfg.BatchSize = rc.URL, secret.New(testSecret), 2
			s, err := cfg.Open(sinks.Env{Workspace: want})
			if err != nil {
				t.Fatal(err)
			}
			defer s.(*Sink).Close()
			for _, err := range s.Deliver(t.Context(), eventtest.Changes(t, 3, contact.Created, contact.Deleted)) {
				if err != nil {
					t.Fatal(err)
				}
			}
			got := rc.got()
			if len(got) != 2 {
				t.Fatalf("%d requests, want 2", len(got))
			}
			var events []named
			for _, req := range got {
				ev, inside := decode(t, req.Body)
				if ev.Workspace != want {
					t.Errorf("%s names workspace %q, want %q", ev.Type, ev.Workspace, want)
				}
				events = append(events, inside...)
			}
			if len(events) != 3 {
				t.Fatalf("%d events in the batches, want 3", len(events))
			}
			for _, ev := range events {
				if ev.Workspace != want {
					t.Errorf("%s in a batch names workspace %q, want %q", ev.Type, ev.Workspace, want)
				}
			}
		})
	}
}

// The contact reaches the receiver as the API sent it: every field, each
// value written as it was (1.50 stays 1.50, "<" is not escaped).
func TestContactVerbatim(t *testing.T) {
	ch := eventtest.Change(t, contact.Updated, "42")
	body, err := encodeEvent("acme", ch, false)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Data struct{ Contact, Previous json.RawMessage }
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.Data.Contact, ch.Contact.Raw) || !bytes.Equal(ev.Data.Previous, ch.Previous.Raw) {
		t.Errorf("contact or previous changed on the way:\n got %s\n     %s\nwant %s\n     %s",
			ev.Data.Contact, ev.Data.Previous, ch.Contact.Raw, ch.Previous.Raw)
	}
}

func TestBatchID(t *testing.T) {
	sum := sha256.Sum256([]byte("msg_a,msg_b"))
	want := "msg_" + hex.EncodeToString(sum[:])
	if got := batchID([]string{"msg_a", "msg_b"}); got != want {
		t.Errorf("batchID = %s, want %s", got, want)
	}
	if batchID([]string{"msg_b", "msg_a"}) == want {
		t.Error("batchID ignores the order of the events")
	}
}
