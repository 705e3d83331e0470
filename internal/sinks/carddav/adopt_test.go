package carddav

import "testing"

func TestTakeAdoptsOnlyTheSinksOwnCard(t *testing.T) {
	const ours = "urn:uuid:11111111-1111-1111-1111-111111111111"
	tests := []struct {
		name  string
		cards []found
		want  string // the href taken; "" for none
	}{
		{"none", nil, ""},
		{"ours, moved by another client", []found{{uid: ours, rec: record{Href: "/book/renamed.vcf"}}}, "/book/renamed.vcf"},
		{"another source's card with the same id", []found{{uid: "urn:uuid:other", rec: record{Href: "/book/other.vcf"}}}, ""},
		{"ours among copies", []found{
			{uid: "urn:uuid:copy", rec: record{Href: "/book/copy.vcf"}},
			{uid: ours, rec: record{Href: "/book/11111111-1111-1111-1111-111111111111.vcf"}},
		}, "/book/11111111-1111-1111-1111-111111111111.vcf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := index{"7": tt.cards}
			got := x.take("7", ours)
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("took %s, want none", got.Href)
			case tt.want != "" && (got == nil || got.Href != tt.want):
				t.Errorf("took %v, want %s", got, tt.want)
			}
		})
	}
}
