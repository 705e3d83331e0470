package importer

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

var testStatuses = leadStatuses{
	{ID: "1", Label: "New Lead"},
	{ID: "2", Label: "Contacted"},
	{ID: "3", Label: "Qualified Lead"},
	{ID: "7", Label: "Hot"},
	{ID: "8", Label: "hot"},
}

const knownStatuses = `known: "New Lead" (1), "Contacted" (2), "Qualified Lead" (3), "Hot" (7), "hot" (8)`

func TestImportValidation(t *testing.T) {
	tests := []struct {
		name        string
		d           draft
		dflt        string
		want        string // first name and lead status sent, or the problems
		notImported []string
	}{
		{"email only", draft{Fields: Fields{Email: "a@example.com"}}, "", "|", nil},
		{"first name only", draft{Fields: Fields{FirstName: "Ann"}}, "", "Ann|", nil},
		{"invalid email", draft{Fields: Fields{Email: "x@", FirstName: "X"}}, "", `email: "x@" is not a valid email`, nil},
		{"email without a dot", draft{Fields: Fields{Email: "a@b"}}, "", `email: "a@b" is not a valid email`, nil},
		{"last name only", draft{Fields: Fields{LastName: "Doe"}}, "", "has neither an email nor a firstName; Connect needs one of them", nil},
		{"nothing", draft{}, "", "has neither an email nor a firstName; Connect needs one of them", nil},
		{"full name stands in", draft{fullName: "Acme Support"}, "", "Acme Support|", nil},
		{"full name does not override", draft{Fields: Fields{LastName: "Doe"}, fullName: "John Doe"}, "", "has neither an email nor a firstName; Connect needs one of them", nil},
		{"lead status by label", draft{Fields: Fields{FirstName: "A"}, leadStatus: "qualified lead"}, "", "A|3", nil},
		{"lead status by id", draft{Fields: Fields{FirstName: "A"}, leadStatus: "2"}, "", "A|2", nil},
		{"unknown lead status", draft{Fields: Fields{FirstName: "A"}, leadStatus: "Cold"}, "", `leadStatus: "Cold" is not a lead status of the workspace (` + knownStatuses + `)`, nil},
		{"ambiguous label", draft{Fields: Fields{FirstName: "A"}, leadStatus: "HOT"}, "", `leadStatus: "HOT" names 2 lead statuses; give the id (` + knownStatuses + `)`, nil},
		{"ambiguous label, id column decides", draft{Fields: Fields{FirstName: "A"}, leadStatusLabel: "hot", leadStatusID: "8"}, "", "A|8", nil},
		{"label wins over another workspace's id", draft{Fields: Fields{FirstName: "A"}, leadStatusLabel: "Contacted", leadStatusID: "99"}, "", "A|2", nil},
		{"unknown label column", draft{Fields: Fields{FirstName: "A"}, leadStatusLabel: "1"}, "", `leadStatusLabel: "1" is not a lead status of the workspace (` + knownStatuses + `)`, nil},
		{"id column", draft{Fields: Fields{FirstName: "A"}, leadStatusID: "3"}, "", "A|3", nil},
		{"unknown id column", draft{Fields: Fields{FirstName: "A"}, leadStatusID: "New Lead"}, "", `leadStatusId: "New Lead" is not a lead status id of the workspace (` + knownStatuses + `)`, nil},
		{"default", draft{Fields: Fields{FirstName: "A"}}, "1", "A|1", nil},
		{"record beats default", draft{Fields: Fields{FirstName: "A"}, leadStatus: "2"}, "1", "A|2", nil},
		{"category names the status", draft{Fields: Fields{FirstName: "A"}, categories: []string{"myContacts", "Qualified Lead", "New Lead"}}, "1", "A|3", []string{"CATEGORIES"}},
		{"no category is a status", draft{Fields: Fields{FirstName: "A"}, categories: []string{"starred"}}, "1", "A|1", []string{"CATEGORIES"}},
		{"ambiguous category", draft{Fields: Fields{FirstName: "A"}, categories: []string{"hot"}}, "", "A|", []string{"CATEGORIES"}},
		{"problems add up", draft{Fields: Fields{Email: "bad"}, leadStatus: "Cold", problems: []string{"NOTE: CHARSET=X is not supported"}}, "",
			`NOTE: CHARSET=X is not supported; email: "bad" is not a valid email; leadStatus: "Cold" is not a lead status of the workspace (` + knownStatuses + `)`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &validator{statuses: testStatuses, defaultStatus: tt.dflt}
			d := tt.d
			f, problems := v.check(&d)
			got := f.FirstName + "|" + f.LeadStatus
			if len(problems) > 0 {
				got = strings.Join(problems, "; ")
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !slices.Equal(d.notImported, tt.notImported) {
				t.Errorf("not imported %q, want %q", d.notImported, tt.notImported)
			}
		})
	}
}

// TestImportEmailRuleIsTheAPIs checks that what we reject is what the API
// rejects, against the fake that follows the API's documentation.
func TestImportEmailRuleIsTheAPIs(t *testing.T) {
	api := fakeconnect.New(fakeconnect.Options{})
	srv := httptest.NewServer(api)
	defer srv.Close()
	for _, email := range []string{
		"a@example.com", "a.b+c@mail.example.co.uk", "zoë@example.com", "x@", "@example.com",
		"a@b", "a b@example.com", "a@@example.com", "a@example.", "a@.com", "plain", "a@ex ample.com",
	} {
		body := `{"firstName": "A", "email": "` + email + `"}`
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/connect/contacts", strings.NewReader(body))
		req.Header.Set("X-Api-Key", fakeconnect.DefaultAPIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if accepted := resp.StatusCode == http.StatusOK; accepted != validEmail(email) {
			t.Errorf("%q: the API accepts it: %v, we do: %v", email, accepted, validEmail(email))
		}
	}
}

func TestImportBodyAndFingerprint(t *testing.T) {
	f := Fields{
		Email: "Ann@Example.com", FirstName: "Ann", Note: "a\r\nb",
		Phones:     []contact.Phone{{Number: "+1 (555) 010-0199", Type: "mobile"}, {Number: "112"}},
		LeadStatus: "3",
	}
	got, _ := encode(f.Body())
	want := `{"email":"Ann@Example.com","firstName":"Ann","leadStatus":3,"note":"a\r\nb","phoneNumbers":[{"number":"+1 (555) 010-0199","type":"mobile"},{"number":"112"}]}`
	if got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if got, _ := encode(Fields{FirstName: "A", LeadStatus: "ls_9"}.Body()); got != `{"firstName":"A","leadStatus":"ls_9"}` {
		t.Errorf("a lead status id that is no number: %s", got)
	}

	// What an API may do to what it stores changes no fingerprint.
	same := f
	same.Email, same.Note = " ann@example.COM", "a\nb\n"
	same.Phones = []contact.Phone{{Number: "112", Type: "emergency"}, {Number: "+1 555 010 0199"}}
	if f.Fingerprint() != same.Fingerprint() {
		t.Error("normalised fields changed the fingerprint")
	}
	for name, change := range map[string]func(*Fields){
		"first name":  func(f *Fields) { f.FirstName = "Anne" },
		"last name":   func(f *Fields) { f.LastName = "Ann" },
		"lead status": func(f *Fields) { f.LeadStatus = "" },
		"a phone":     func(f *Fields) { f.Phones = f.Phones[:1] },
		"twitter":     func(f *Fields) { f.TwitterURL = "https://x.com/ann" },
		"company":     func(f *Fields) { f.CompanyName = "Ann" }, // not the same as a first name Ann
	} {
		other := f
		change(&other)
		if other.Fingerprint() == f.Fingerprint() {
			t.Errorf("changing the %s kept the fingerprint", name)
		}
	}
}

func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
