package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// TestContactsSkipsWhatIsTooLarge serves a hostile list: contacts too
// large or nested too deeply among normal ones. The normal ones are all
// handed over; each bad one is skipped, named by its id wherever it sits
// in the object (or by its place in the list when it has none), without
// a retry.
func TestContactsSkipsWhatIsTooLarge(t *testing.T) {
	huge := strings.Repeat("x", MaxContactBytes)
	deep := strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) // beyond encoding/json's own limit
	justDeepEnough := strings.Repeat("[", MaxContactDepth-1) + strings.Repeat("]", MaxContactDepth-1)
	justSmallEnough := `{"id":"fits","note":"` + strings.Repeat("y", MaxContactBytes-len(`{"id":"fits","note":""}`)) + `"}`
	elements := []string{
		`{"id":1}`,
		`{"id":"big","note":"` + huge + `"}`,
		`{"id":2}`,
		`{"note":"` + huge + `","id":3.50,"more":{"id":"inner"}}`,
		`{"id":"deep","future":` + deep + `}`,
		`{"future":` + deep + `,"id":"twice","id":"last"}`,
		`{"future":` + deep + `}`,
		`{"id":"x` + strings.Repeat("0", maxIDBytes) + `","note":"` + huge + `"}`,
		`{"id":"edge","future":` + justDeepEnough + `}`,
		justSmallEnough,
		`{"id":{"nested":"\"quoted\""},"note":"` + huge + `"}`,
		`{"id":4}`,
	}
	h := newHarness(t, Options{MaxRetries: 3}, respond(200, "application/json", "[\n"+strings.Join(elements, ",\n")+"\n]"))
	got, err := h.contacts(context.Background(), "")
	want := []string{`{"id":1}`, `{"id":2}`, elements[8], justSmallEnough, `{"id":4}`}
	if !slices.Equal(got, want) {
		t.Errorf("handed over %d contacts, want %d", len(got), len(want))
	}
	var skipped *contact.SkippedError
	if !errors.As(err, &skipped) {
		t.Fatalf("err = %v, want a *contact.SkippedError", err)
	}
	tooLarge, tooDeep := "larger than 4 MiB", "nested deeper than 64 levels"
	wantSkipped := []contact.Skipped{
		{ID: "big", Position: 2, Reason: tooLarge},
		{ID: "3.50", Position: 4, Reason: tooLarge},
		{ID: "deep", Position: 5, Reason: tooDeep},
		{ID: "last", Position: 6, Reason: tooDeep},
		{Position: 7, Reason: tooDeep},
		{Position: 8, Reason: tooLarge},
		{ID: `{"nested":"\"quoted\""}`, Position: 11, Reason: tooLarge},
	}
	if !slices.Equal(skipped.Contacts, wantSkipped) {
		t.Errorf("skipped %+v\nwant %+v", skipped.Contacts, wantSkipped)
	}
	wantErr := `source: contacts: skipped 7 contacts: contact "big" (number 2 of the list): larger than 4 MiB; ` +
		`contact "3.50" (number 4 of the list): larger than 4 MiB; contact "deep" (number 5 of the list): nested deeper than 64 levels; and 4 more`
	if err.Error() != wantErr {
		t.Errorf("err = %v\nwant %s", err, wantErr)
	}
	if n := h.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// TestContactsMismatchedBrackets: brackets that do not match
// fail the list while the scanner can tell (within the depth a contact
// may have), whether the contact would be skipped or not.
func TestContactsMismatchedBrackets(t *testing.T) {
	for _, body := range []string{
		`[{"id":1,"a":[}]}]`,
		`[{"id":1,"a":[` + strings.Repeat("x", MaxContactBytes) + `}]}]`,
	} {
		h := newHarness(t, Options{}, respond(200, "application/json", body))
		_, err := h.contacts(context.Background(), "")
		want := `source: contacts: response is not valid JSON (after 0 contacts): invalid character '}' closing the array opened at depth 2`
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		}
	}
}

// TestContactsMemoryStaysBounded streams a 200 MB contact: what the
// client allocates to skip it stays near MaxContactBytes, not the
// contact's size.
func TestContactsMemoryStaysBounded(t *testing.T) {
	const size = 200 << 20
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4<<10)
	h := newHarness(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"id":1},{"id":"huge","note":"`))
		for range size / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		w.Write([]byte(`"},{"id":2}]`))
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var ids []string
	err := h.client.Contacts(context.Background(), "", func(raw json.RawMessage) error {
		c, err := contact.Parse(raw)
		ids = append(ids, c.ID)
		return err
	})
	runtime.ReadMemStats(&after)
	var skipped *contact.SkippedError
	if !errors.As(err, &skipped) || len(skipped.Contacts) != 1 || skipped.Contacts[0].ID != "huge" {
		t.Fatalf("err = %v, want contact huge skipped", err)
	}
	if !slices.Equal(ids, []string{"1", "2"}) {
		t.Errorf("handed over %q, want 1 and 2", ids)
	}
	// The buffer doubles on its way to MaxContactBytes (twice that in
	// all), and the test server's side of the connection allocates too.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*MaxContactBytes {
		t.Errorf("allocated %d MiB to skip a %d MiB contact, want %d MiB at most", alloc>>20, size>>20, 4*MaxContactBytes>>20)
	}
}
