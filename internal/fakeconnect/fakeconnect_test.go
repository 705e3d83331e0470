package fakeconnect_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

const key = "sk_live_test"

// do sends one request straight to the handler. An empty apiKey sends no
// X-Api-Key header.
func do(t *testing.T, h http.Handler, method, target, apiKey, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if apiKey != "" {
		r.Header.Set("X-Api-Key", apiKey)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, target, ct)
	}
	return w
}

// errorMessage checks that body is exactly {"error": "..."} and returns the
// message.
func errorMessage(t *testing.T, body []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	msg, ok := m["error"].(string)
	if len(m) != 1 || !ok || msg == "" {
		t.Fatalf("error body %q, want {\"error\": \"...\"}", body)
	}
	return msg
}

func decodeList(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("contacts body does not parse: %v", err)
	}
	return list
}

func TestAuth(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 3})
	paths := []string{"/api/connect/contacts", "/api/connect/contacts/lead-statuses", "/api/connect/me"}
	tests := []struct {
		name, key string
		want      int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong", "sk_live_other", http.StatusUnauthorized},
		{"prefix of the key", key[:5], http.StatusUnauthorized},
		{"right", key, http.StatusOK},
	}
	for _, tt := range tests {
		for _, p := range paths {
			w := do(t, s, http.MethodGet, p, tt.key, "")
			if w.Code != tt.want {
				t.Errorf("%s key, GET %s: status %d, want %d", tt.name, p, w.Code, tt.want)
			}
			if tt.want == http.StatusUnauthorized {
				errorMessage(t, w.Body.Bytes())
			}
		}
	}
}

func TestDefaultAPIKey(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{})
	if w := do(t, s, http.MethodGet, "/api/connect/me", fakeconnect.DefaultAPIKey, ""); w.Code != http.StatusOK {
		t.Errorf("status %d with DefaultAPIKey, want 200", w.Code)
	}
}

func TestQuery(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key})
	s.SetContacts([]map[string]any{
		{"id": 1, "firstName": "Zoë", "lastName": "O'Brien", "email": "zoe@example.com"},
		{"id": 2, "firstName": "José", "lastName": "Nguyễn", "email": "jose.nguyen@example.org"},
		{"id": 3, "firstName": "Ann", "lastName": "Smith", "email": "ann@example.com", "companyName": "Zoë Ltd"},
		{"id": 4, "email": "SHOUT@EXAMPLE.NET"},
	})
	tests := []struct {
		query string
		want  []float64
	}{
		{"", []float64{1, 2, 3, 4}},
		{"ZOË", []float64{1}},                     // unicode, case-insensitive, not companyName
		{"o'brien", []float64{1}},                 // last name
		{"nguyễn", []float64{2}},                  // last name with diacritics
		{"example.com", []float64{1, 3}},          // email
		{"shout@", []float64{4}},                  // email, case-insensitive
		{"s", []float64{2, 3, 4}},                 // any of the three fields
		{"nobody", []float64{}},                   // empty array, not null
		{"Smith Ann", []float64{}},                // no match across fields
		{"jose.nguyen@example.org", []float64{2}}, // whole email
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := do(t, s, http.MethodGet, "/api/connect/contacts?query="+urlQuery(tt.query), key, "")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			var got []float64
			for _, c := range decodeList(t, w.Body.Bytes()) {
				got = append(got, c["id"].(float64))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ids %v, want %v", got, tt.want)
			}
			if len(tt.want) == 0 && strings.TrimSpace(w.Body.String()) != "[]" {
				t.Errorf("body %q, want []", w.Body.String())
			}
		})
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer(" ", "+", "'", "%27", "@", "%40").Replace(s)
}

func TestCreate(t *testing.T) {
	tests := []struct {
		name, body string
		wantStatus int
		wantError  string
	}{
		{"empty object", `{}`, 400, "At least email or firstName is required"},
		{"only last name", `{"lastName": "Doe"}`, 400, "At least email or firstName is required"},
		{"blank first name", `{"firstName": "  "}`, 400, "At least email or firstName is required"},
		{"null email and name", `{"email": null, "firstName": null}`, 400, "At least email or firstName is required"},
		{"invalid email", `{"email": "not-an-email"}`, 400, "Invalid email"},
		{"email without domain dot", `{"email": "a@b"}`, 400, "Invalid email"},
		{"email with space", `{"firstName": "A", "email": "a b@example.com"}`, 400, "Invalid email"},
		{"email not a string", `{"firstName": "A", "email": 5}`, 400, "Invalid email"},
		{"unknown lead status", `{"email": "a@example.com", "leadStatus": 9}`, 400, "Invalid lead status"},
		{"lead status object", `{"email": "a@example.com", "leadStatus": {"id": 1}}`, 400, "Invalid lead status"},
		{"lead status label", `{"email": "a@example.com", "leadStatus": "New Lead"}`, 400, "Invalid lead status"},
		{"not JSON", `{"email": `, 400, "Invalid JSON body"},
		{"array", `[{"email": "a@example.com"}]`, 400, "Invalid JSON body"},
		{"null", `null`, 400, "Invalid JSON body"},
		{"trailing data", `{"email": "a@example.com"} x`, 400, "Invalid JSON body"},
		{"email only", `{"email": "a@example.com"}`, 200, ""},
		{"first name only", `{"firstName": "Zoë"}`, 200, ""},
		{"empty email with name", `{"firstName": "Zoë", "email": ""}`, 200, ""},
		{"lead status id as text", `{"firstName": "Zoë", "leadStatus": "3"}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 2})
			w := do(t, s, http.MethodPost, "/api/connect/contacts", key, tt.body)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantError != "" {
				if got := errorMessage(t, w.Body.Bytes()); got != tt.wantError {
					t.Errorf("error %q, want %q", got, tt.wantError)
				}
				if n := len(s.IDs()); n != 2 {
					t.Errorf("%d contacts after a failed create, want 2", n)
				}
			}
		})
	}
}

func TestCreateReturnsAndStoresContact(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 2})
	body := `{"email": "jane@example.com", "firstName": "Jane", "lastName": "Smith",
		"jobTitle": "Marketing Manager", "companyName": "Tech Solutions Inc",
		"phoneNumbers": [{"number": "+1 555 0100", "type": "mobile"}],
		"twitterUrl": "https://twitter.com/jane", "leadStatus": 2, "unknown": true}`
	w := do(t, s, http.MethodPost, "/api/connect/contacts", key, body)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d; body %s", w.Code, w.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": 3.0, "email": "jane@example.com", "firstName": "Jane", "lastName": "Smith",
		"fullName": "Jane Smith", "jobTitle": "Marketing Manager", "companyName": "Tech Solutions Inc",
		"twitterUrl": "https://twitter.com/jane",
		"leadStatus": map[string]any{"id": 2.0, "label": "Contacted", "color": "#F59E0B"},
	}
	for k, v := range want {
		if !jsonEqual(got[k], v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["unknown"]; ok {
		t.Error("unknown body field stored")
	}
	if _, ok := got["lastActivityAt"]; ok {
		t.Error("new contact has lastActivityAt")
	}
	if c, err := contact.Parse(w.Body.Bytes()); err != nil || c.CreatedAt == "" || len(c.Phones) != 1 {
		t.Errorf("created contact parses as %+v, %v", c, err)
	}

	list := decodeList(t, do(t, s, http.MethodGet, "/api/connect/contacts", key, "").Body.Bytes())
	if len(list) != 3 || !jsonEqual(list[2], got) {
		t.Errorf("list after create: last of %d is %v, want %v", len(list), list[len(list)-1], got)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestLeadStatuses(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key})
	w := do(t, s, http.MethodGet, "/api/connect/contacts/lead-statuses", key, "")
	var got []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"id": 1, "type": "lead", "label": "New Lead", "color": "#3B82F6", "order": 1},
		{"id": 2, "type": "lead", "label": "Contacted", "color": "#F59E0B", "order": 2},
		{"id": 3, "type": "qualified", "label": "Qualified Lead", "color": "#10B981", "order": 3},
		{"id": 4, "type": "disqualified", "label": "Lost", "color": "#EF4444", "order": 4},
	}
	if !jsonEqual(got, want) {
		t.Errorf("lead statuses %v, want %v", got, want)
	}
}

func TestMe(t *testing.T) {
	tests := []struct{ workspace, want string }{
		{"", "Demo Workspace"},
		{"Acme Sales", "Acme Sales"},
	}
	for _, tt := range tests {
		s := fakeconnect.New(fakeconnect.Options{APIKey: key, Workspace: tt.workspace})
		w := do(t, s, http.MethodGet, "/api/connect/me", key, "")
		var got struct {
			Details   struct{ Name, Email string }
			Workspace struct{ Name string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Workspace.Name != tt.want || got.Details.Name == "" || got.Details.Email == "" {
			t.Errorf("me = %+v, want workspace %q and details", got, tt.want)
		}
	}
}

func TestRouting(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key})
	tests := []struct {
		method, path string
		want         int
		allow        string
	}{
		{http.MethodGet, "/api/connect/nothing", http.StatusNotFound, ""},
		{http.MethodGet, "/api/connect/contacts/", http.StatusNotFound, ""},
		{http.MethodGet, "/", http.StatusNotFound, ""},
		{http.MethodDelete, "/api/connect/contacts", http.StatusMethodNotAllowed, "GET, POST"},
		{http.MethodPut, "/api/connect/contacts/lead-statuses", http.StatusMethodNotAllowed, "GET"},
		{http.MethodPost, "/api/connect/me", http.StatusMethodNotAllowed, "GET"},
	}
	for _, tt := range tests {
		w := do(t, s, tt.method, tt.path, key, "")
		if w.Code != tt.want || w.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: status %d, Allow %q; want %d, %q", tt.method, tt.path, w.Code, w.Header().Get("Allow"), tt.want, tt.allow)
		}
		errorMessage(t, w.Body.Bytes())
	}
}

func TestDeterministic(t *testing.T) {
	body := func(seed int64) []byte {
		s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 300, Seed: seed})
		return do(t, s, http.MethodGet, "/api/connect/contacts", key, "").Body.Bytes()
	}
	if !bytes.Equal(body(7), body(7)) {
		t.Error("same seed, different bodies")
	}
	if bytes.Equal(body(7), body(8)) {
		t.Error("different seeds, same body")
	}
}

// TestGenerated checks that generated contacts parse and cover the cases
// the API docs leave open.
func TestGenerated(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key, Contacts: 2000, Seed: 1})
	body := do(t, s, http.MethodGet, "/api/connect/contacts", key, "").Body.Bytes()
	list := decodeList(t, body)
	if len(list) != 2000 {
		t.Fatalf("%d contacts, want 2000", len(list))
	}
	seen := map[string]bool{}
	for i, c := range list {
		if c["id"] != float64(i+1) {
			t.Fatalf("contact %d has id %v", i, c["id"])
		}
		raw, _ := json.Marshal(c)
		if _, err := contact.Parse(raw); err != nil {
			t.Fatalf("contact %v: %v", c["id"], err)
		}
		for _, k := range coverage(c) {
			seen[k] = true
		}
	}
	for _, k := range []string{
		"phone string", "phone strings", "phone objects", "no phone",
		"no lastActivityAt", "null leadStatus", "leadStatus object",
		"note newline", "note comma", "note semicolon", "note quote", "note =", "note +",
		"non-ASCII name", "CJK name", "apostrophe", "http photo", "https photo", "linkedinUrl",
		"no email",
	} {
		if !seen[k] {
			t.Errorf("no generated contact has %s", k)
		}
	}
}

// coverage names the interesting cases contact c shows.
func coverage(c map[string]any) []string {
	var cases []string
	add := func(ok bool, name string) {
		if ok {
			cases = append(cases, name)
		}
	}
	switch p := c["phoneNumbers"].(type) {
	case nil:
		cases = append(cases, "no phone")
	case string:
		cases = append(cases, "phone string")
	case []any:
		_, obj := p[0].(map[string]any)
		add(obj, "phone objects")
		add(!obj, "phone strings")
	}
	_, hasActivity := c["lastActivityAt"]
	add(!hasActivity, "no lastActivityAt")
	ls, hasStatus := c["leadStatus"]
	add(hasStatus && ls == nil, "null leadStatus")
	_, isObject := ls.(map[string]any)
	add(isObject, "leadStatus object")
	note, _ := c["note"].(string)
	add(strings.Contains(note, "\n"), "note newline")
	add(strings.Contains(note, ","), "note comma")
	add(strings.Contains(note, ";"), "note semicolon")
	add(strings.Contains(note, `"`), "note quote")
	add(strings.HasPrefix(note, "="), "note =")
	add(strings.HasPrefix(note, "+"), "note +")
	name, _ := c["fullName"].(string)
	add(strings.ContainsAny(name, "ëéŁø"), "non-ASCII name")
	add(strings.ContainsAny(name, "渡辺佐藤翔太"), "CJK name")
	add(strings.Contains(name, "'"), "apostrophe")
	photo, _ := c["photo"].(string)
	add(strings.HasPrefix(photo, "http://"), "http photo")
	add(strings.HasPrefix(photo, "https://"), "https photo")
	_, hasLinkedin := c["linkedinUrl"]
	add(hasLinkedin, "linkedinUrl")
	_, hasEmail := c["email"]
	add(!hasEmail, "no email")
	return cases
}

func TestRequestsLog(t *testing.T) {
	s := fakeconnect.New(fakeconnect.Options{APIKey: key})
	r := httptest.NewRequest(http.MethodPost, "/api/connect/contacts?x=1", strings.NewReader(`{"email": "a@example.com"}`))
	r.Header.Set("X-Api-Key", key)
	r.Header.Set("User-Agent", "connect-sync/test")
	r.Header.Set("Accept", "application/json")
	s.ServeHTTP(httptest.NewRecorder(), r)
	do(t, s, http.MethodGet, "/api/connect/me", "", "")

	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests logged, want 2", len(reqs))
	}
	got := reqs[0]
	if got.Method != http.MethodPost || got.Path != "/api/connect/contacts" || got.Query.Get("x") != "1" ||
		got.Header.Get("X-Api-Key") != key || got.Header.Get("User-Agent") != "connect-sync/test" ||
		got.Header.Get("Accept") != "application/json" || string(got.Body) != `{"email": "a@example.com"}` {
		t.Errorf("logged %+v", got)
	}
	if reqs[1].Path != "/api/connect/me" || reqs[1].Header.Get("X-Api-Key") != "" {
		t.Errorf("second request logged as %+v", reqs[1])
	}
}
