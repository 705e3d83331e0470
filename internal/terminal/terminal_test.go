package terminal

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want, lines string }{
		{"Zoë", "Zoë", "Zoë"},
		{"日本語 🙂", "日本語 🙂", "日本語 🙂"},
		{"O'Brien \"Bob\" C:\\x", "O'Brien \"Bob\" C:\\x", "O'Brien \"Bob\" C:\\x"},
		{"", "", ""},
		{"\x1b]0;pwned\x07Eve\x1b[8m", `\x1b]0;pwned\aEve\x1b[8m`, `\x1b]0;pwned\aEve\x1b[8m`},
		{"a\tb\nc\rd", `a\tb\nc\rd`, "a\\tb\nc\\rd"},
		{"nul\x00del\x7f", `nul\x00del\x7f`, `nul\x00del\x7f`},
		{"c1 \u009b1m \u0085", `c1 \u009b1m \u0085`, `c1 \u009b1m \u0085`},
		{"raw \x9b1m \xff", `raw \x9b1m \xff`, `raw \x9b1m \xff`},
		{"evil\u202Egpj.exe", `evil\u202egpj.exe`, `evil\u202egpj.exe`},
		{"\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c", `\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c`, `\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c`},
		{"line\u2028para\u2029", `line\u2028para\u2029`, `line\u2028para\u2029`},
		{"\uFFFD is a character", "\uFFFD is a character", "\uFFFD is a character"},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := EscapeLines(tt.in); got != tt.lines {
			t.Errorf("EscapeLines(%q) = %q, want %q", tt.in, got, tt.lines)
		}
	}
}

// FuzzEscape checks what a terminal is sent: valid UTF-8 with no character
// it acts on (none but "\n" from EscapeLines), and text without any left
// as it was.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"Zoë", "\x1b]0;t\x07", "\u202e", "\xc2\x9b", "\x9b", "a\nb", "\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, keepLF := range []bool{false, true} {
			got := escape(s, keepLF)
			if !utf8.ValidString(got) {
				t.Fatalf("escape(%q, %v) = %q: not UTF-8", s, keepLF, got)
			}
			for _, r := range got {
				if unsafe(r) && (r != '\n' || !keepLF) {
					t.Fatalf("escape(%q, %v) = %q holds %U", s, keepLF, got, r)
				}
			}
			clean := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return unsafe(r) && (r != '\n' || !keepLF) })
			if clean != (got == s) {
				t.Fatalf("escape(%q, %v) = %q", s, keepLF, got)
			}
		}
	})
}
