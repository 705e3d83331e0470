// Package secrettest is what the tests of a server quoting secrets back
// share: the ways it echoes them, and a search for any part of one that
// a redactor should have found.
package secrettest

import "strings"

// Echoes are the ways a hostile server quotes a secret back: as is,
// upper-cased, cut after 200 bytes with the secret's first 12 characters
// at the end, and ten characters from its middle.
var Echoes = map[string]func(secret string) string{
	"as is":        func(s string) string { return "you sent " + s },
	"upper-cased":  func(s string) string { return "YOU SENT " + strings.ToUpper(s) },
	"cut":          func(s string) string { return (strings.Repeat("x", 178) + " you sent " + s)[:200] },
	"middle slice": func(s string) string { return "you sent …" + s[len(s)/2-5:len(s)/2+5] + "…" },
}

// Leak returns the first piece of secret, of 8 characters, that text
// shows, regardless of case; "" for none.
func Leak(text, secret string) string {
	text, secret = strings.ToLower(text), strings.ToLower(secret)
	for i := 0; i+8 <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+8]) {
			return secret[i : i+8]
		}
	}
	return ""
}
