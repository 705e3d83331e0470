// Package terminal makes text from outside (contacts, import files, what a
// server answered) safe to print where a person reads it. A terminal obeys
// the control characters it is sent: a contact named "\x1b]0;pwned\a"
// would retitle the window, "\x1b[8m" hide all that follows, and a bidi
// override (U+202E) reorder what the reader sees.
package terminal

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s for printing on one line: control characters (C0, tab
// and newline included, DEL and C1), bidi controls (U+202A–U+202E,
// U+2066–U+2069, U+200E, U+200F, U+061C), the line and paragraph separators
// and bytes that are not UTF-8 are written as Go escapes ("\x1b", "\t",
// "\u202e", "\x9b"). Everything else, "Zoë" and "日本語" included, is left
// as it is. The result is for reading, not for reading back: a backslash
// stays a backslash.
func Escape(s string) string { return escape(s, false) }

// EscapeLines is Escape for text of several lines, such as joined errors:
// each "\n" stays a line break.
func EscapeLines(s string) string { return escape(s, true) }

func escape(s string, keepLF bool) string {
	escaped := func(r rune) bool { return unsafe(r) && (r != '\n' || !keepLF) }
	if !strings.ContainsFunc(s, escaped) && utf8.ValidString(s) {
		return s
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		case escaped(r):
			q := strconv.QuoteRune(r) // '\x1b', '\a', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafe reports whether a terminal could act on r rather than show it.
func unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}
