package vcarddir

import (
	"strings"
	"testing"
)

// The names are what existing folders hold: a change to them would leave
// every card under its old name, so they are pinned here.
func TestFileName(t *testing.T) {
	tests := map[string]string{
		"1":                     "1.vcf",
		"123456789":             "123456789.vcf",
		"abc_def-123":           "abc_def-123.vcf",
		"abc_DEF-123":           "abc_DEF-123.5cd61b34b7c95370.vcf",
		"A":                     "A.559aead08264d579.vcf",
		strings.Repeat("a", 64): strings.Repeat("a", 64) + ".vcf",
	}
	for id, want := range tests {
		if got := fileName(id); got != want {
			t.Errorf("fileName(%q) = %q, want %q", id, got, want)
		}
	}
	// A hashed name is longer than any safe id, so none can take it.
	if a, b := fileName("a.b"), fileName("a/b"); a == b || len(a) != len("x-")+64+len(".vcf") {
		t.Errorf("hashed names %q, %q", a, b)
	}
}

// Ids that differ only in case get names that differ even where case is
// ignored (macOS, Windows), and so does a lower-case id made to look like
// another's suffixed name.
func TestNamesDifferIgnoringCase(t *testing.T) {
	ids := []string{"a", "A", "ab", "aB", "Ab", "AB", "x", "X", "1", "abc_def-123", "abc_DEF-123", "ABC_def-123"}
	suffixed := strings.TrimSuffix(fileName("A"), ".vcf")
	ids = append(ids, strings.ToLower(strings.ReplaceAll(suffixed, ".", "-")), "../a", "../A")
	seen := map[string]string{}
	for _, id := range ids {
		folded := strings.ToLower(fileName(id))
		if other, ok := seen[folded]; ok {
			t.Errorf("ids %q and %q share the name %s ignoring case", other, id, folded)
		}
		seen[folded] = id
	}
}

// Contacts whose cards were, or are, one file where case is ignored are
// delivered one after another.
func TestLane(t *testing.T) {
	if lane("a") != lane("A") || lane("Ab") != lane("aB") {
		t.Error("ids differing only in case are in different lanes")
	}
	if lane("a") == lane("b") || lane("../a") == lane("../A") {
		t.Error("unrelated ids share a lane")
	}
}

func TestLegacyName(t *testing.T) {
	for id, want := range map[string]string{"A": "A.vcf", "abc_DEF-123": "abc_DEF-123.vcf", "1": "", "a": "", "../A": ""} {
		got, ok := legacyName(id)
		if got != want || ok != (want != "") {
			t.Errorf("legacyName(%q) = %q, %t; want %q", id, got, ok, want)
		}
	}
}
