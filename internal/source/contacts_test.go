package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
)

func TestContactsStreamsOddPayloads(t *testing.T) {
	elements := []string{
		`{"id": 1, "email": "a@example.com", "futureField": {"nested": [1, 2.50, "x"]},  "note": "caf\u00e9 \"quoted\""}`,
		`{"id":"abc-2","email":null,"photo":null,"phoneNumbers":"+1 555 0100"}`,
		`{"id":3,"phoneNumbers":["+1 555 0101","+1 555 0102"],"twitterUrl":"https://x.com/c"}`,
		`{"id":4,"phoneNumbers":[{"number":"+1 555 0103","type":"work"},{"phone":"+1 555 0104","label":"home"}],"leadStatus":null}`,
		`{"id":5,"leadStatus":{"id":1,"label":"New Lead","color":"#3B82F6"},"lastActivityAt":"2024-05-01T09:00:00Z"}`,
		`{}`,
	}
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"pretty", "\n[\n  " + strings.Join(elements, ",\n  ") + "\n]\n", elements},
		{"compact", "[" + strings.Join(elements, ",") + "]", elements},
		{"empty", " [ ] ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{}, respond(200, "application/json; charset=utf-8", tt.body))
			got, err := h.contacts(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestContactsParse(t *testing.T) {
	body := `[{"id":"abc-2","phoneNumbers":"+1 555 0100"},{"id":4,"phoneNumbers":[{"number":"+1 555 0103","type":"work"}]}]`
	h := newHarness(t, Options{}, respond(200, "application/json", body))
	var ids, phones []string
	err := h.client.Contacts(context.Background(), "", func(raw json.RawMessage) error {
		c, err := contact.Parse(raw)
		if err != nil {
			return err
		}
		ids = append(ids, c.ID)
		phones = append(phones, fmt.Sprint(c.Phones))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"abc-2", "4"}; !slices.Equal(ids, want) {
		t.Errorf("ids %q, want %q", ids, want)
	}
	if want := []string{"[{+1 555 0100 }]", "[{+1 555 0103 work}]"}; !slices.Equal(phones, want) {
		t.Errorf("phones %q, want %q", phones, want)
	}
}

func TestContactsFailures(t *testing.T) {
	tests := []struct {
		name     string
		handlers []http.HandlerFunc
		want     string   // the error, or how it starts
		got      []string // the contacts handed over before the failure
		requests int32
	}{
		{
			name:     "truncated",
			handlers: []http.HandlerFunc{respond(200, "application/json", `[{"id":1},{"id":2,"email":"a@`)},
			want:     "source: contacts: response ended before the contact array did (after 1 contacts): unexpected EOF",
			got:      []string{`{"id":1}`},
			requests: 1,
		},
		{
			name:     "truncated between elements",
			handlers: []http.HandlerFunc{respond(200, "application/json", `[{"id":1},`)},
			want:     "source: contacts: response ended before the contact array did (after 1 contacts): unexpected EOF",
			got:      []string{`{"id":1}`},
			requests: 1,
		},
		{
			name:     "no closing bracket",
			handlers: []http.HandlerFunc{respond(200, "application/json", `[{"id":1}`)},
			want:     "source: contacts: response ended before the contact array did (after 1 contacts): unexpected EOF",
			got:      []string{`{"id":1}`},
			requests: 1,
		},
		{
			name:     "truncated after leading white space",
			handlers: []http.HandlerFunc{respond(200, "application/json", "\n  [{\"id\":1},")},
			want:     "source: contacts: response ended before the contact array did (after 1 contacts): unexpected EOF",
			got:      []string{`{"id":1}`},
			requests: 1,
		},
		{
			name:     "connection dropped after streaming started",
			handlers: []http.HandlerFunc{drop(`[{"id":1},{"id":2}`)},
			want:     "source: contacts: response ended before the contact array did (after 2 contacts): unexpected EOF",
			got:      []string{`{"id":1}`, `{"id":2}`},
			requests: 1,
		},
		{
			name:     "not JSON",
			handlers: []http.HandlerFunc{respond(200, "text/plain", "Service temporarily unavailable")},
			want:     "source: contacts: response is not a JSON array (got something that is not JSON, status 200)",
			requests: 1,
		},
		{
			name:     "not an array",
			handlers: []http.HandlerFunc{respond(200, "application/json", `{"data": []}`)},
			want:     "source: contacts: response is not a JSON array (got a JSON object, status 200)",
			requests: 1,
		},
		{
			name:     "null",
			handlers: []http.HandlerFunc{respond(200, "application/json", `null`)},
			want:     "source: contacts: response is not a JSON array (got null, status 200)",
			requests: 1,
		},
		{
			name:     "HTML page",
			handlers: []http.HandlerFunc{respond(200, "text/html; charset=utf-8", "\n<!DOCTYPE html><html><body>Login</body></html>")},
			want:     "source: contacts: response is not a JSON array (got HTML, status 200)",
			requests: 1,
		},
		{
			name:     "HTML content type",
			handlers: []http.HandlerFunc{respond(200, "text/html", "Maintenance")},
			want:     "source: contacts: response is not a JSON array (got HTML, status 200)",
			requests: 1,
		},
		{
			name:     "empty body",
			handlers: []http.HandlerFunc{respond(200, "application/json", " \n")},
			want:     "source: contacts: response body is empty (status 200)",
			requests: 1,
		},
		{
			name:     "number element",
			handlers: []http.HandlerFunc{respond(200, "application/json", `[{"id":1}, 42]`)},
			want:     "source: contacts: contact 2 in the response is a JSON number, not a JSON object",
			got:      []string{`{"id":1}`},
			requests: 1,
		},
		{
			name:     "null element",
			handlers: []http.HandlerFunc{respond(200, "application/json", `[null]`)},
			want:     "source: contacts: contact 1 in the response is null, not a JSON object",
			requests: 1,
		},
		{
			name:     "array element",
			handlers: []http.HandlerFunc{respond(200, "application/json", `[[{"id":1}]]`)},
			want:     "source: contacts: contact 1 in the response is a JSON array, not a JSON object",
			requests: 1,
		},
		{
			name:     "missing comma",
			handlers: []http.HandlerFunc{respond(200, "application/json", `[{"id":1} {"id":2}]`)},
			// The decoder's own words differ between Go releases.
			want:     "source: contacts: response is not valid JSON (after 1 contacts): ",
			got:      []string{`{"id":1}`},
			requests: 1,
		},
		{
			name:     "data after the array",
			handlers: []http.HandlerFunc{respond(200, "application/json", `[{"id":1}] <html>`)},
			want:     "source: contacts: response has more after the contact array (1 contacts)",
			got:      []string{`{"id":1}`},
			requests: 1,
		},
		{
			name:     "dropped before the first contact, then whole",
			handlers: []http.HandlerFunc{drop(`[{"id":1`), respond(200, "application/json", `[{"id":1}]`)},
			got:      []string{`{"id":1}`},
			requests: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{MaxRetries: 3}, tt.handlers...)
			got, err := h.contacts(context.Background(), "")
			if tt.want == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)) {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
			if !slices.Equal(got, tt.got) {
				t.Errorf("handed over %q, want %q", got, tt.got)
			}
			if n := h.requests.Load(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestContactsCallbackError(t *testing.T) {
	h := newHarness(t, Options{MaxRetries: 3}, respond(200, "application/json", `[{"id":1},{"id":2}]`))
	stop := errors.New("disk full")
	calls := 0
	err := h.client.Contacts(context.Background(), "", func(json.RawMessage) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 || h.requests.Load() != 1 {
		t.Errorf("err = %v after %d calls and %d requests; want %v after 1 and 1", err, calls, h.requests.Load(), stop)
	}
}

func TestContactsTimeoutMidBody(t *testing.T) {
	h := newHarness(t, Options{MaxRetries: 3, Timeout: 100 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"id":1},`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	got, err := h.contacts(context.Background(), "")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no complete response within 100ms") {
		t.Errorf("err = %v, want a timeout", err)
	}
	if len(got) != 1 || h.requests.Load() != 1 {
		t.Errorf("%d contacts from %d requests, want 1 from 1 (no retry once streaming)", len(got), h.requests.Load())
	}
}

// BenchmarkContacts streams a body of 10,000 contacts shaped like the API's.
func BenchmarkContacts(b *testing.B) {
	var body strings.Builder
	body.WriteString("[")
	for i := range 10_000 {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, `{"id":%d,"email":"person%d@example.com","photo":"https://cdn.example.com/p/%d.jpg",`+
			`"firstName":"First%d","lastName":"Last%d","fullName":"First%d Last%d","jobTitle":"Developer",`+
			`"companyName":"Acme Corp","phoneNumbers":[{"number":"+1 555 %04d","type":"work"}],`+
			`"facebookUrl":null,"instagramUrl":null,"linkedinUrl":"https://linkedin.com/in/p%d",`+
			`"note":"Met at the conference; follow up in \"Q3\".","lastActivityAt":"2024-05-01T09:00:00Z",`+
			`"createdAt":"2023-01-15T10:00:00Z","leadStatus":{"id":1,"label":"New Lead","color":"#3B82F6"}}`,
			i, i, i, i, i, i, i, i%10_000, i)
	}
	body.WriteString("]")
	h := newHarness(b, Options{}, respond(200, "application/json", body.String()))
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := h.client.Contacts(context.Background(), "", func(json.RawMessage) error {
			n++
			return nil
		})
		if err != nil || n != 10_000 {
			b.Fatalf("%d contacts, err %v", n, err)
		}
	}
}
