package fakeconnect_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

// served returns the contacts as a client sees them, by id.
func served(t *testing.T, s *fakeconnect.Server) map[string]map[string]any {
	t.Helper()
	list := decodeList(t, do(t, s, http.MethodGet, "/api/connect/contacts", key, "").Body.Bytes())
	byID := make(map[string]map[string]any, len(list))
	for _, c := range list {
		byID[idString(c["id"])] = c
	}
	return byID
}

func idString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestContactAndIDs(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 5, Seed: 3})
	if got, want := s.IDs(), []string{"1", "2", "3", "4", "5"}; !slices.Equal(got, want) {
		t.Errorf("IDs %v, want %v", got, want)
	}
	c, ok := s.Contact("2")
	if !ok || c["id"] != json.Number("2") || c["firstName"] == "" {
		t.Fatalf("Contact(2) = %v, %v", c, ok)
	}
	c["firstName"] = "Changed"
	if again, _ := s.Contact("2"); again["firstName"] == "Changed" {
		t.Error("changing the returned map changed the stored contact")
	}
	if _, ok := s.Contact("99"); ok {
		t.Error("Contact(99) found")
	}
}

func TestEdit(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 3})
	before := served(t, s)["2"]
	err := s.Edit("2", func(c map[string]any) {
		c["email"] = "new@example.com"
		c["customField"] = []any{"kept", 1}
		delete(c, "note")
	})
	if err != nil {
		t.Fatal(err)
	}
	after := served(t, s)["2"]
	if after["email"] != "new@example.com" || !jsonEqual(after["customField"], []any{"kept", 1}) || after["note"] != nil {
		t.Errorf("after Edit: %v", after)
	}
	if after["lastActivityAt"] != before["lastActivityAt"] || after["createdAt"] != before["createdAt"] {
		t.Error("Edit changed the timestamps")
	}
	if got := served(t, s)["1"]; got["email"] == "new@example.com" {
		t.Error("Edit changed another contact")
	}

	if err := s.Edit("2", func(c map[string]any) { c["id"] = "2" }); err != nil {
		t.Errorf("changing the id's type: %v", err)
	}
	if err := s.Edit("2", func(c map[string]any) { c["id"] = 7 }); err == nil {
		t.Error("changing the id's value: no error")
	}
	if err := s.Edit("99", func(map[string]any) {}); err == nil {
		t.Error("Edit(99): no error")
	}
}

func TestTouch(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 50, Seed: 1})
	s.Add(map[string]any{"id": 100, "firstName": "Future", "lastActivityAt": "2099-01-01T00:00:00Z"})
	var last string
	for _, id := range []string{"1", "2", "1", "100", "3"} {
		before, _ := s.Contact(id)
		if err := s.Touch(id); err != nil {
			t.Fatal(err)
		}
		got, _ := served(t, s)[id]["lastActivityAt"].(string)
		prev, _ := before["lastActivityAt"].(string)
		if got <= prev || got <= last {
			t.Errorf("Touch(%s): lastActivityAt %q, not after %q and %q", id, got, prev, last)
		}
		last = got
	}
	if err := s.Touch("99"); err == nil {
		t.Error("Touch(99): no error")
	}
}

func TestDelete(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 10})
	for _, id := range []string{"3", "1", "10", "4", "5", "6", "7"} { // enough to compact
		if err := s.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := s.IDs(), []string{"2", "8", "9"}; !slices.Equal(got, want) {
		t.Errorf("IDs %v, want %v", got, want)
	}
	if got := len(served(t, s)); got != 3 {
		t.Errorf("%d contacts served, want 3", got)
	}
	if err := s.Delete("3"); err == nil {
		t.Error("deleting twice: no error")
	}
	if err := s.Edit("8", func(c map[string]any) { c["note"] = "x" }); err != nil {
		t.Errorf("Edit after compaction: %v", err)
	}
	if id := s.Add(map[string]any{"firstName": "New"}); id != "11" {
		t.Errorf("id after deleting the highest: %q, want 11 (ids are not reused)", id)
	}
}

func TestAdd(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 2})
	odd := map[string]any{"firstName": "Odd", "phoneNumbers": "+1 555 0100; +1 555 0101", "extra": map[string]any{"a": 1}}
	tests := []struct {
		name string
		c    map[string]any
		want string
	}{
		{"next id", odd, "3"},
		{"string id", map[string]any{"id": "abc-1", "email": "abc@example.com"}, "abc-1"},
		{"high numeric id", map[string]any{"id": 40}, "40"},
		{"next after high", map[string]any{"firstName": "After"}, "41"},
		{"duplicate", map[string]any{"id": 1, "firstName": "Twin"}, "1"},
		{"nil", nil, "42"},
	}
	for _, tt := range tests {
		if got := s.Add(tt.c); got != tt.want {
			t.Errorf("%s: Add returned %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, ok := odd["id"]; ok {
		t.Error("Add changed the caller's map")
	}
	if got, want := s.IDs(), []string{"1", "2", "3", "abc-1", "40", "41", "1", "42"}; !slices.Equal(got, want) {
		t.Errorf("IDs %v, want %v", got, want)
	}
	if got := served(t, s)["3"]; !jsonEqual(got["extra"], odd["extra"]) || got["phoneNumbers"] != odd["phoneNumbers"] {
		t.Errorf("served %v", got)
	}
	if c, _ := s.Contact("1"); c["firstName"] == "Twin" {
		t.Error("Contact returned the duplicate, not the first")
	}
	if err := s.Delete("1"); err != nil || slices.Contains(s.IDs(), "1") {
		t.Errorf("Delete of a duplicated id: %v, IDs %v", err, s.IDs())
	}
}

func TestSetContacts(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 20})
	s.SetContacts([]map[string]any{
		{"id": "7", "firstName": "Text id"},
		{"firstName": "No id"},
		nil,
		{"id": 7.0, "firstName": "Same id as a number"},
	})
	body := do(t, s, http.MethodGet, "/api/connect/contacts", key, "").Body.String()
	want := `[{"firstName":"Text id","id":"7"},{"firstName":"No id"},null,{"firstName":"Same id as a number","id":7}]` + "\n"
	if body != want {
		t.Errorf("body %s, want %s", body, want)
	}
	if got := s.IDs(); !slices.Equal(got, []string{"7", "7"}) {
		t.Errorf("IDs %v", got)
	}
	if id := s.Add(map[string]any{}); id != "8" {
		t.Errorf("next id %q, want 8", id)
	}
}

// TestConcurrentUse is for the race detector: hooks run while requests
// stream the list.
func TestConcurrentUse(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 2000})
	srv := httptest.NewServer(s)
	defer srv.Close()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/connect/contacts?query=a", nil)
			req.Header.Set("X-Api-Key", key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var list []map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Go(func() {
		for i := 1; i <= 500; i++ {
			id := strconv.Itoa(i)
			_ = s.Touch(id)
			_ = s.Edit(id, func(c map[string]any) { c["note"] = "edited" })
			_ = s.Delete(strconv.Itoa(2000 - i))
			s.Add(map[string]any{"firstName": "Added"})
			s.Fail(fakeconnect.Fault{Endpoint: "/nowhere"})
			_, _ = s.Contact(id)
			_ = s.IDs()
			_ = s.Requests()
		}
	})
	wg.Wait()
}

func BenchmarkNew100k(b *testing.B) {
	for b.Loop() {
		fakeconnect.New(fakeconnect.Options{Contacts: 100_000, Seed: 1})
	}
}

func BenchmarkServe100k(b *testing.B) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 100_000, Seed: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/connect/contacts", nil)
	req.Header.Set("X-Api-Key", key)
	for b.Loop() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		b.SetBytes(n)
	}
}
