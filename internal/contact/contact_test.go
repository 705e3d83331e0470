package contact

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseOddPayloads(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Contact
	}{
		{"numeric id and documented fields", `{"id": 1, "email": "john@example.com", "firstName": "John", "lastName": "Doe", "leadStatus": {"id": 1, "label": "New Lead", "color": "#3B82F6"}}`,
			Contact{ID: "1", Email: "john@example.com", FirstName: "John", LastName: "Doe", LeadStatus: &LeadStatus{ID: "1", Label: "New Lead", Color: "#3B82F6"}}},
		{"string id", `{"id": "c_42"}`, Contact{ID: "c_42"}},
		{"nulls everywhere", `{"id": 2, "email": null, "phoneNumbers": null, "leadStatus": null, "lastActivityAt": null, "note": null}`, Contact{ID: "2"}},
		{"phone as a string", `{"id": 3, "phoneNumbers": "+1 555 0100"}`, Contact{ID: "3", Phones: []Phone{{Number: "+1 555 0100"}}}},
		{"phones as strings", `{"id": 4, "phoneNumbers": ["+1 555 0100", "", "+44 20 7946 0958"]}`, Contact{ID: "4", Phones: []Phone{{Number: "+1 555 0100"}, {Number: "+44 20 7946 0958"}}}},
		{"phones as objects", `{"id": 5, "phoneNumbers": [{"number": "+1 555 0100", "type": "mobile"}, {"phone": "123", "label": "work"}, {"value": "456"}]}`,
			Contact{ID: "5", Phones: []Phone{{Number: "+1 555 0100", Type: "mobile"}, {Number: "123", Type: "work"}, {Number: "456"}}}},
		{"number where text is expected", `{"id": 6, "jobTitle": 7, "companyName": true}`, Contact{ID: "6", JobTitle: "7", CompanyName: "true"}},
		{"unknown and twitter fields", `{"id": 7, "twitterUrl": "https://x.com/a", "shoeSize": 44}`, Contact{ID: "7", TwitterURL: "https://x.com/a"}},
		{"enriched lead status", `{"id": 8, "leadStatus": {"id": "2", "label": "Qualified", "type": "qualified", "order": 2}}`,
			Contact{ID: "8", LeadStatus: &LeadStatus{ID: "2", Label: "Qualified", Type: "qualified", Order: 2}}},
		{"timestamps verbatim", `{"id": 9, "lastActivityAt": "2024-01-02T03:04:05.123+02:00", "createdAt": "2023-01-15T10:00:00Z"}`,
			Contact{ID: "9", LastActivityAt: "2024-01-02T03:04:05.123+02:00", CreatedAt: "2023-01-15T10:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Raw) != tt.raw {
				t.Errorf("Raw = %s, want the bytes as sent", got.Raw)
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, raw := range []string{`null`, `[]`, `"x"`, `{"email": "a@example.com"}`, `{"id": null}`, `{`} {
		if _, err := Parse([]byte(raw)); err == nil {
			t.Errorf("Parse(%s) succeeded", raw)
		}
	}
}

// TestTextReadsStringsAsTheDecoderDoes checks the decoder-free path for
// plain strings against encoding/json, on plain and unusual strings alike.
func TestTextReadsStringsAsTheDecoderDoes(t *testing.T) {
	for _, raw := range []string{
		`"Ada"`, `""`, `"Zoë 🙂"`, `"a\"b"`, `"tab\there"`, `"\u00e9"`, `"back\\slash"`,
		"\"invalid \xff utf-8\"", `"</script>"`, "\"\u202ertl\"",
	} {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := Text(json.RawMessage(raw)); got != want {
			t.Errorf("Text(%s) = %q, want %q", raw, got, want)
		}
	}
}
