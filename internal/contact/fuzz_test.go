package contact

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse, as the API could send them for
// one element of the contact list. Parse must accept exactly the JSON
// objects with a usable id, keep the bytes verbatim in Raw, and read every
// documented field that holds a string as that string.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(raw)
		var fields map[string]json.RawMessage
		isObject := json.Unmarshal(raw, &fields) == nil && fields != nil
		if err != nil {
			if isObject && Text(fields["id"]) != "" {
				t.Fatalf("Parse rejected an object with id %s: %v", fields["id"], err)
			}
			return
		}
		if !isObject || c.ID == "" {
			t.Fatalf("Parse accepted %q: id %q", raw, c.ID)
		}
		if !bytes.Equal(c.Raw, raw) {
			t.Errorf("Raw = %q, want the bytes as sent", c.Raw)
		}
		for key, got := range map[string]string{
			"id": c.ID, "email": c.Email, "firstName": c.FirstName, "lastName": c.LastName,
			"fullName": c.FullName, "jobTitle": c.JobTitle, "companyName": c.CompanyName,
			"facebookUrl": c.FacebookURL, "instagramUrl": c.InstagramURL, "linkedinUrl": c.LinkedinURL,
			"twitterUrl": c.TwitterURL, "note": c.Note, "photo": c.Photo,
			"lastActivityAt": c.LastActivityAt, "createdAt": c.CreatedAt,
		} {
			var want string
			if json.Unmarshal(fields[key], &want) == nil && got != want {
				t.Errorf("%s = %q, want %q", key, got, want)
			}
		}
		for i, p := range c.Phones {
			if p.Number == "" {
				t.Errorf("phone %d has no number: %+v", i, c.Phones)
			}
		}
		var ls map[string]json.RawMessage
		if isLeadStatus := json.Unmarshal(fields["leadStatus"], &ls) == nil && ls != nil; isLeadStatus != (c.LeadStatus != nil) {
			t.Errorf("leadStatus %s read as %+v", fields["leadStatus"], c.LeadStatus)
		}
	})
}
