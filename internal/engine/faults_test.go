package engine

import (
	"maps"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/source"
)

// contactsPath is the contact list, the endpoint the source faults hit.
const contactsPath = "/api/connect/contacts"

// TestSourceFaults runs the engine with the real API client against the
// fake API misbehaving in each way the API can, after a first clean run.
// Whatever the fault, the run deletes nothing and acknowledges nothing it
// did not deliver; a failed run changes neither the checkpoint nor any
// queue, and the next run, with the fault gone, delivers what the faulty
// one could not, once.
//
// How the client reads each fault (exact errors, which are retried and
// with what waits) is table-tested in internal/source (TestContactsRetries,
// TestContactsFailures, TestTimeout, TestErrorKinds), and the same faults
// through the binary, with the file sinks checked, in cmd/connect-sync
// (TestSourceFaults, TestEmptyListDeletesNothing); the 401 in a service's
// life is TestServiceSurvivesARevokedKey there.
func TestSourceFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: every fault of the API, with its retries; runs without -short")
	}
	const tracked = 20
	tests := []struct {
		name   string
		faults []fakeconnect.Fault
		// serve changes what the API lists, besides the edit of the first
		// contact every case makes; ids are the contacts' ids.
		serve    func(api *fakeconnect.Server, ids []string)
		wantErr  string // in the faulty run's error; empty when it succeeds
		requests int    // to the contact list in the faulty run
		// want is what the sink gets over the faulty run and the next one,
		// with ids[i] written as "#i"; check, if set, looks closer.
		want  []string
		check func(t *testing.T, got []contact.Change, ids []string)
	}{
		{
			name:     "500s then success",
			faults:   []fakeconnect.Fault{{Endpoint: contactsPath, Status: 500}, {Endpoint: contactsPath, Status: 500}},
			requests: 3,
			want:     []string{"updated #0"},
		},
		{
			name:     "429 with Retry-After then success",
			faults:   []fakeconnect.Fault{{Endpoint: contactsPath, Status: 429, RetryAfter: "1"}},
			requests: 2,
			want:     []string{"updated #0"},
		},
		{
			name:     "hangs past the timeout on every attempt",
			faults:   slices.Repeat([]fakeconnect.Fault{{Endpoint: contactsPath, Hang: true}}, 3),
			wantErr:  "no complete response within",
			requests: 3,
			want:     []string{"updated #0"},
		},
		{
			// Cut after some contacts were read: not retried, since a
			// second copy of the list could differ from the first.
			name:     "body cut in the middle of the array",
			faults:   []fakeconnect.Fault{{Endpoint: contactsPath, Truncate: 3000}},
			wantErr:  "response ended before the contact array did",
			requests: 1,
			want:     []string{"updated #0"},
		},
		{
			name:     "HTML page",
			faults:   []fakeconnect.Fault{{Endpoint: contactsPath, Body: "<!DOCTYPE html><html><body>Maintenance</body></html>", ContentType: "text/html"}},
			wantErr:  "not a JSON array (got HTML, status 200)",
			requests: 1,
			want:     []string{"updated #0"},
		},
		{
			name:     "null",
			faults:   []fakeconnect.Fault{{Endpoint: contactsPath, Body: "null"}},
			wantErr:  "not a JSON array (got null, status 200)",
			requests: 1,
			want:     []string{"updated #0"},
		},
		{
			name:     "object instead of an array",
			faults:   []fakeconnect.Fault{{Endpoint: contactsPath, Body: "{}"}},
			wantErr:  "not a JSON array (got a JSON object, status 200)",
			requests: 1,
			want:     []string{"updated #0"},
		},
		{
			name:     "empty array while contacts are tracked",
			faults:   []fakeconnect.Fault{{Endpoint: contactsPath, Body: "[]"}},
			wantErr:  "the API returned no contacts while 20 are tracked",
			requests: 1,
			want:     []string{"updated #0"},
		},
		{
			name:     "401",
			faults:   []fakeconnect.Fault{{Endpoint: contactsPath, Status: 401}},
			wantErr:  "rejected the API key (401)",
			requests: 1,
			want:     []string{"updated #0"},
		},
		{
			// The first copy counts: a later copy of a tracked contact,
			// different or not, changes nothing, and a new contact listed
			// twice is created once, as its first copy says.
			name: "duplicate ids in one response",
			serve: func(api *fakeconnect.Server, ids []string) {
				dup, _ := api.Contact(ids[2])
				dup["email"] = "second-copy@example.com"
				api.Add(dup)
				api.Add(map[string]any{"id": 9001, "email": "first-copy@example.com"})
				api.Add(map[string]any{"id": 9001, "email": "second-copy@example.com"})
			},
			requests: 1,
			want:     []string{"updated #0", "created 9001"},
			check: func(t *testing.T, got []contact.Change, _ []string) {
				if got[1].Contact.Email != "first-copy@example.com" {
					t.Errorf("created from %q, want the first copy", got[1].Contact.Email)
				}
			},
		},
		{
			// The id is the same text either way: the same contact,
			// updated, never a deletion and a creation.
			name: "id type changes from number to string",
			serve: func(api *fakeconnect.Server, ids []string) {
				api.Edit(ids[1], func(c map[string]any) { c["id"] = ids[1] })
			},
			requests: 1,
			want:     []string{"updated #0", "updated #1"},
			check: func(t *testing.T, got []contact.Change, ids []string) {
				flip := got[1]
				if !slices.Equal(flip.ChangedFields, []string{"id"}) || flip.Previous == nil || flip.Previous.ID != ids[1] {
					t.Errorf("the type change was delivered as %+v", flip)
				}
				if !strings.Contains(string(flip.Contact.Raw), `"id":"`+ids[1]+`"`) {
					t.Errorf("the update carries %s, want the id as the API now sends it", flip.Contact.Raw)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := fakeconnect.New(fakeconnect.Options{Contacts: tracked, Seed: 3})
			srv := httptest.NewServer(api)
			t.Cleanup(srv.Close)
			// The short timeout is for the hanging case; every other
			// answer comes from loopback, and a slow one is retried.
			client, err := source.New(source.Options{
				BaseURL: srv.URL, APIKey: secret.New(fakeconnect.DefaultAPIKey), Timeout: time.Second, MaxRetries: 2,
			})
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			h := newHarness(t, 0, Sink{Name: "r", Type: "test", Sink: rec})
			h.engine.Source = client
			h.mustRun()
			if got := rec.take(); len(got) != tracked {
				t.Fatalf("first run delivered %d changes, want %d", len(got), tracked)
			}
			before, _ := h.db.Checkpoint(t.Context())
			ids := api.IDs()

			api.Edit(ids[0], func(c map[string]any) { c["note"] = "edited before the fault" })
			if tt.serve != nil {
				tt.serve(api, ids)
			}
			for _, f := range tt.faults {
				api.Fail(f)
			}
			listed := listRequests(api)
			_, err = h.run(Options{})
			if n := listRequests(api) - listed; n != tt.requests {
				t.Errorf("%d requests for the contact list, want %d", n, tt.requests)
			}
			got := rec.take()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("faulty run: %v", err)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("faulty run: err = %v, want %q", err, tt.wantErr)
				}
				if len(got) != 0 {
					t.Fatalf("a failed run delivered %v", summary(got))
				}
				if after, _ := h.db.Checkpoint(t.Context()); !maps.Equal(after, before) {
					t.Fatal("a failed run changed the checkpoint")
				}
				if n, _ := h.db.Pending(t.Context(), "r"); n != 0 {
					t.Fatalf("a failed run queued %d changes", n)
				}
				if st, _ := h.db.Status(t.Context()); st.LastRun == nil || st.LastRun.Result != "failure" || !strings.Contains(st.LastRun.Error, tt.wantErr) {
					t.Errorf("last run recorded as %+v", st.LastRun)
				}
			}

			// The fault is gone: the next run delivers the rest, once.
			h.mustRun()
			got = append(got, rec.take()...)
			if s := named(summary(got), ids); !slices.Equal(s, tt.want) {
				t.Fatalf("delivered %v, want %v", s, tt.want)
			}
			if tt.check != nil {
				tt.check(t, got, ids)
			}
			h.mustRun()
			if again := rec.take(); len(again) != 0 {
				t.Errorf("a third run delivered %v", summary(again))
			}
			cp, _ := h.db.Checkpoint(t.Context())
			if want := uniqueIDs(api.IDs()); !slices.Equal(slices.Sorted(maps.Keys(cp)), want) {
				t.Errorf("tracking %d contacts, want the API's %d", len(cp), len(want))
			}
		})
	}
}

// listRequests counts the requests for the contact list the API got.
func listRequests(api *fakeconnect.Server) int {
	n := 0
	for _, r := range api.Requests() {
		if r.Method == "GET" && r.Path == contactsPath {
			n++
		}
	}
	return n
}

// named writes the ids in summary lines as "#i", their index in ids.
func named(lines, ids []string) []string {
	out := make([]string, len(lines))
	for i, line := range lines {
		kind, id, _ := strings.Cut(line, " ")
		if j := slices.Index(ids, id); j >= 0 {
			id = "#" + strconv.Itoa(j)
		}
		out[i] = kind + " " + id
	}
	return out
}

func uniqueIDs(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}
