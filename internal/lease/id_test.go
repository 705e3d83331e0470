package lease

import (
	"strings"
	"testing"
)

func TestNewInstanceID(t *testing.T) {
	a, b := NewInstanceID(), NewInstanceID()
	if !ValidName(a) || a == b || len(a) < 8 || a[len(a)-7] != '-' {
		t.Errorf("ids %q, %q", a, b)
	}
}

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{
		"default": true, "A_b-9": true, strings.Repeat("x", 64): true,
		"": false, strings.Repeat("x", 65): false, "a.b": false, "a b": false, "a*": false, "é": false,
	} {
		if ValidName(s) != want {
			t.Errorf("ValidName(%q) = %v", s, !want)
		}
	}
}
