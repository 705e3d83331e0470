package csv_test

import (
	"slices"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// wantHeader is the header the file must start with, spelled out rather than
// taken from the package so that a change to the columns fails the tests.
var wantHeader = []string{
	"id", "email", "firstName", "lastName", "fullName", "jobTitle", "companyName",
	"phoneNumbers", "facebookUrl", "instagramUrl", "linkedinUrl", "twitterUrl",
	"note", "photo", "leadStatusId", "leadStatusLabel", "leadStatusType",
	"lastActivityAt", "createdAt",
}

// row builds an expected record from the cells that are not empty.
func row(cells map[string]string) []string {
	r := make([]string, len(wantHeader))
	for name, v := range cells {
		i := slices.Index(wantHeader, name)
		if i < 0 {
			panic("no column " + name)
		}
		r[i] = v
	}
	return r
}

// fixture is a set of contacts with every odd value the file must carry, in
// the order the file must list them, with the record each must become while
// the formula guard is on.
var fixture = []struct {
	c    contact.Contact
	want []string
}{
	{
		c: contact.Contact{
			ID: "1", Email: "john@example.com", FirstName: "John", LastName: "Doe",
			FullName: "John Doe", JobTitle: "Developer", CompanyName: "Acme, Inc.",
			Phones: []contact.Phone{
				{Number: "+1 555 0100", Type: "mobile"},
				{Number: "+44 20 7946 0958", Type: "work"},
			},
			FacebookURL:    "https://facebook.com/john",
			InstagramURL:   "https://instagram.com/john",
			LinkedinURL:    "https://linkedin.com/in/john",
			TwitterURL:     "https://x.com/john",
			Note:           "Met at the fair.\nSaid \"call me\", twice; then left.\n\nP.S. bring, the \"\" stuff",
			Photo:          "https://cdn.example.com/p/1.png?size=large&v=2",
			LeadStatus:     &contact.LeadStatus{ID: "2", Label: "Qualified Lead", Type: "qualified", Color: "#10B981", Order: 2},
			LastActivityAt: "2024-03-01T09:15:00.123+01:00",
			CreatedAt:      "2023-01-15T10:00:00Z",
		},
		want: row(map[string]string{
			"id": "1", "email": "john@example.com", "firstName": "John", "lastName": "Doe",
			"fullName": "John Doe", "jobTitle": "Developer", "companyName": "Acme, Inc.",
			"phoneNumbers": "+1 555 0100; +44 20 7946 0958",
			"facebookUrl":  "https://facebook.com/john",
			"instagramUrl": "https://instagram.com/john",
			"linkedinUrl":  "https://linkedin.com/in/john",
			"twitterUrl":   "https://x.com/john",
			"note":         "Met at the fair.\nSaid \"call me\", twice; then left.\n\nP.S. bring, the \"\" stuff",
			"photo":        "https://cdn.example.com/p/1.png?size=large&v=2",
			"leadStatusId": "2", "leadStatusLabel": "Qualified Lead", "leadStatusType": "qualified",
			"lastActivityAt": "2024-03-01T09:15:00.123+01:00", "createdAt": "2023-01-15T10:00:00Z",
		}),
	},
	{
		c: contact.Contact{
			ID: "2", Email: "zoë@exämple.com", FirstName: "Zoë", LastName: "Łukasiewicz",
			FullName: "Zoë Łukasiewicz", JobTitle: " leading and trailing spaces ",
			CompanyName: "株式会社テスト", Note: "emoji 🎉, RTL שלום, a lone\rcarriage return, a tab\there",
			Photo:      "HTTP://EXAMPLE.COM/Z.PNG",
			LeadStatus: &contact.LeadStatus{ID: "1", Label: "New Lead"},
			CreatedAt:  "2023-01-15T10:30:00Z",
		},
		want: row(map[string]string{
			"id": "2", "email": "zoë@exämple.com", "firstName": "Zoë", "lastName": "Łukasiewicz",
			"fullName": "Zoë Łukasiewicz", "jobTitle": " leading and trailing spaces ",
			"companyName": "株式会社テスト", "note": "emoji 🎉, RTL שלום, a lone\rcarriage return, a tab\there",
			"photo": "HTTP://EXAMPLE.COM/Z.PNG", "leadStatusId": "1", "leadStatusLabel": "New Lead",
			"createdAt": "2023-01-15T10:30:00Z",
		}),
	},
	{
		// Only an id: every other cell is empty.
		c:    contact.Contact{ID: "3"},
		want: row(map[string]string{"id": "3"}),
	},
	{
		c: contact.Contact{
			ID: "9", FirstName: "Phones",
			Phones: []contact.Phone{{Number: "-0100"}, {Number: "(020) 7946-0958"}, {Number: "555.0100/2"}},
			Photo:  "javascript:alert(1)",
		},
		want: row(map[string]string{
			"id": "9", "firstName": "Phones", "phoneNumbers": "-0100; (020) 7946-0958; 555.0100/2",
		}),
	},
	{
		c: contact.Contact{
			ID: "10", Email: "=1+1@example.com", FirstName: `=HYPERLINK("http://evil.example","click")`,
			LastName: "+SUM(A1:A9)", FullName: "-2+3", JobTitle: "@cmd", CompanyName: "\tTabbed",
			Note: "\rstarts with a carriage return", Photo: "data:image/png;base64,AAAA",
			Phones:     []contact.Phone{{Number: "+1 555 0100 ext. 7"}},
			LeadStatus: &contact.LeadStatus{ID: "3", Label: "=danger", Type: "disqualified"},
		},
		want: row(map[string]string{
			"id": "10", "email": "'=1+1@example.com", "firstName": `'=HYPERLINK("http://evil.example","click")`,
			"lastName": "'+SUM(A1:A9)", "fullName": "'-2+3", "jobTitle": "'@cmd", "companyName": "'\tTabbed",
			"note": "'\rstarts with a carriage return", "phoneNumbers": "'+1 555 0100 ext. 7",
			"leadStatusId": "3", "leadStatusLabel": "'=danger", "leadStatusType": "disqualified",
		}),
	},
	{
		c: contact.Contact{
			ID: "100", FirstName: "Quote", Note: `"`, LastName: "O'Brien",
			Phones: []contact.Phone{{Number: "+1=2"}}, Photo: "//cdn.example.com/no-scheme.png",
		},
		want: row(map[string]string{
			"id": "100", "firstName": "Quote", "note": `"`, "lastName": "O'Brien", "phoneNumbers": "'+1=2",
		}),
	},
	{
		c:    contact.Contact{ID: "Zed", Email: "string-id@example.com"},
		want: row(map[string]string{"id": "Zed", "email": "string-id@example.com"}),
	},
	{
		c:    contact.Contact{ID: "abc-7", Note: "semi;colons;only"},
		want: row(map[string]string{"id": "abc-7", "note": "semi;colons;only"}),
	},
}

// fixtureChanges returns the fixture as creations, in an order other than
// the file's.
func fixtureChanges() []contact.Change {
	var changes []contact.Change
	for i := len(fixture) - 1; i >= 0; i-- {
		changes = append(changes, change(contact.Created, fixture[i].c))
	}
	return changes
}

// fixtureRecords returns the records the fixture's file must hold, header
// first.
func fixtureRecords() [][]string {
	records := [][]string{wantHeader}
	for _, f := range fixture {
		records = append(records, f.want)
	}
	return records
}

func change(kind contact.Kind, c contact.Contact) contact.Change {
	return contact.Change{ID: string(kind) + "-" + c.ID, Kind: kind, Contact: c}
}
