package fakeconnect

// name is a name as shown and as it appears in email addresses and URLs.
type name struct{ text, ascii string }

var firstNames = []name{
	{"Emma", "emma"}, {"Liam", "liam"}, {"Zoë", "zoe"}, {"José", "jose"},
	{"Łukasz", "lukasz"}, {"Søren", "soren"}, {"Chloé", "chloe"}, {"Mateo", "mateo"},
	{"Aisha", "aisha"}, {"Björn", "bjorn"}, {"Siobhán", "siobhan"}, {"François", "francois"},
	{"Günther", "gunther"}, {"Ana", "ana"}, {"Mei", "mei"}, {"Hiroshi", "hiroshi"},
	{"Priya", "priya"}, {"Olusegun", "olusegun"}, {"Inês", "ines"}, {"Noah", "noah"},
	{"Amélie", "amelie"}, {"Dmitri", "dmitri"}, {"Renée", "renee"}, {"Kofi", "kofi"},
	{"Yuki", "yuki"}, {"翔太", "shota"}, {"Fatima", "fatima"}, {"Raúl", "raul"},
	{"Ægir", "aegir"}, {"John", "john"}, {"Sarah", "sarah"}, {"Michael", "michael"},
	{"Jane", "jane"}, {"Thảo", "thao"}, {"Małgorzata", "malgorzata"}, {"Ayşe", "ayse"},
	{"Mary-Kate", "mary-kate"}, {"Jean-Luc", "jean-luc"}, {"Ólafur", "olafur"}, {"David", "david"},
}

var lastNames = []name{
	{"Smith", "smith"}, {"O'Brien", "obrien"}, {"Nguyễn", "nguyen"}, {"渡辺", "watanabe"},
	{"García", "garcia"}, {"Müller", "muller"}, {"Kowalski", "kowalski"}, {"Andersen", "andersen"},
	{"Dubois", "dubois"}, {"Rossi", "rossi"}, {"Silva", "silva"}, {"Østergaard", "ostergaard"},
	{"Núñez", "nunez"}, {"Patel", "patel"}, {"Kim", "kim"}, {"Johansson", "johansson"},
	{"van der Berg", "vanderberg"}, {"Fernández", "fernandez"}, {"Çelik", "celik"}, {"Papadopoulos", "papadopoulos"},
	{"Wójcik", "wojcik"}, {"Doe", "doe"}, {"Okafor", "okafor"}, {"Schäfer", "schafer"},
	{"Lefèvre", "lefevre"}, {"Brown", "brown"}, {"McDonald", "mcdonald"}, {"D'Angelo", "dangelo"},
	{"Jørgensen", "jorgensen"}, {"Sánchez", "sanchez"}, {"佐藤", "sato"}, {"Ivanova", "ivanova"},
}

var companies = []string{
	"Acme Corp", "Tech Solutions Inc", "Globex", "Initech", "Nordlys AS", "Café Müller GmbH",
	"Kowalski & Synowie", "Smith, Jones & Partners", "Blue Ocean Ltd", "株式会社サクラ",
	"Søndergaard ApS", "The \"Best\" Bakery", "Umbrella Logistics", "Vértice Consultores",
	"Hooli", "Stark Industries", "Wayne Enterprises", "Østfold Energi", "Lumière SARL", "Northwind Traders",
}

var jobTitles = []string{
	"Developer", "Marketing Manager", "CEO", "CTO", "Head of Sales", "Account Executive",
	"Product Manager", "Office Manager", "Founder & CEO", "VP, Engineering",
	"Customer Success Lead", "Designer", "Procurement Officer", "Geschäftsführer", "Directeur général",
}

// notes are the free texts of contacts, with what breaks naive CSV, vCard
// and spreadsheet exports: newlines, commas, semicolons, quotes, leading
// formula characters, tabs, emoji.
var notes = []string{
	"Met at the Berlin expo.\nFollow up in Q3.",
	"Prefers email, not phone; call only if urgent",
	`Said: "send me the deck" and went quiet`,
	"=SUM(A1:A10)",
	"+1 for the enterprise plan",
	"=HYPERLINK(\"http://example.com\",\"click me\")",
	"Budget approved, 3 seats; decision by Friday\n\"Urgent\"",
	"-2 seats after renewal",
	"@channel asked for a demo",
	"Windows line endings\r\nsecond line\r\n",
	"Loves sushi 🍣; vegetarian options, please",
	"Tab\tseparated\tvalues",
	"Assistant: Zoë; backup: José, Łukasz",
	"Renewal 2025-03-01, 10% discount agreed",
	"Line one\nLine two\nLine three, with a comma",
	"Back\\slash and semi;colon",
}

var phoneTypes = []string{"mobile", "work", "home", "other"}

var emailDomains = []string{"example.com", "example.org", "example.net", "mail.example.com", "corp.example"}
