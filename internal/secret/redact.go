package secret

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// sliceLen is the length, in characters, of the shortest piece of a
// secret that a Redactor finds anywhere: a secret at least this long is
// found whole, in part, or cut off, by any slice of it this long.
const sliceLen = 8

// edgeLen is the shortest piece of a secret a Redactor finds at the start
// or the end of a text, where a cut leaves the secret's first (or last)
// few characters.
const edgeLen = 4

// slice is sliceLen characters of a secret, lower-cased.
type slice [sliceLen]rune

// Redactor removes secrets from a text that came from elsewhere: an error
// body, a status line or a redirect's location from a server that may
// quote the request's credentials back. It finds each secret, and its
// URL-escaped and JSON-escaped forms, regardless of case; a secret of at
// least 8 characters also by any slice of 8 of them (an echo cut short, or
// the middle of it), and at the start or end of the text by as few as 4
// (a quote cut in the middle of the secret).
// A shorter secret is found whole, as a word of its own: a header value
// such as "1" or "en" must not blank out every digit of a message.
// Each place found becomes "[redacted]".
//
// A nil Redactor removes nothing. A Redactor is safe for concurrent use.
type Redactor struct {
	slices map[slice]struct{}
	long   [][]rune // the secrets with slices, lower-cased, for the edges
	short  [][]rune // the secrets shorter than sliceLen, lower-cased
}

// Format prints the Redactor without the secrets it holds, whatever the
// verb.
func (r *Redactor) Format(f fmt.State, _ rune) { io.WriteString(f, "secret.Redactor") }

// NewRedactor returns a Redactor of the secrets; empty ones are ignored.
func NewRedactor(secrets ...String) *Redactor {
	return (*Redactor)(nil).With(secrets...)
}

// With returns a Redactor of r's secrets and these; r is not changed.
func (r *Redactor) With(secrets ...String) *Redactor {
	out := &Redactor{slices: map[slice]struct{}{}}
	if r != nil {
		for k := range r.slices {
			out.slices[k] = struct{}{}
		}
		out.long = append(out.long, r.long...)
		out.short = append(out.short, r.short...)
	}
	for _, s := range secrets {
		for _, form := range forms(s.Reveal()) {
			out.add(lower(form))
		}
	}
	return out
}

// lower is s as runes, each lower-cased: one rune for each of s's, which
// the offsets in Redact rely on (strings.ToLower may change the count).
func lower(s string) []rune {
	out := make([]rune, 0, len(s))
	for _, c := range s {
		out = append(out, unicode.ToLower(c))
	}
	return out
}

func (r *Redactor) add(s []rune) {
	switch {
	case len(s) == 0:
	case len(s) < sliceLen:
		r.short = append(r.short, s)
	default:
		r.long = append(r.long, s)
		for i := 0; i+sliceLen <= len(s); i++ {
			r.slices[slice(s[i:i+sliceLen])] = struct{}{}
		}
	}
}

// forms are a secret and the forms it may be quoted in: escaped in a URL's
// query or path, and in a JSON string (with "/" escaped too, as some
// encoders do).
func forms(s string) []string {
	if s == "" {
		return nil
	}
	j, _ := json.Marshal(s)
	inJSON := string(j[1 : len(j)-1])
	var out []string
	for _, f := range []string{s, url.QueryEscape(s), url.PathEscape(s), inJSON, strings.ReplaceAll(inJSON, "/", `\/`)} {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Redact returns text with every secret found replaced by "[redacted]".
func (r *Redactor) Redact(text string) string {
	if r == nil || text == "" || len(r.long) == 0 && len(r.short) == 0 {
		return text
	}
	// Where each rune of text starts, and its end.
	low := lower(text)
	at := make([]int, 0, len(low)+1)
	for i := range text {
		at = append(at, i)
	}
	at = append(at, len(text))
	hidden := make([]bool, len(low))
	found := false
	mark := func(from, to int) {
		for i := from; i < to; i++ {
			hidden[i] = true
		}
		found = true
	}
	for i := 0; i+sliceLen <= len(low); i++ {
		if _, ok := r.slices[slice(low[i:i+sliceLen])]; ok {
			mark(i, i+sliceLen)
		}
	}
	for _, s := range r.long {
		if n := edge(low, s); n > 0 {
			mark(0, n)
		}
		if n := edgeEnd(low, s); n > 0 {
			mark(len(low)-n, len(low))
		}
	}
	for _, s := range r.short {
		for i := 0; i+len(s) <= len(low); i++ {
			if word(low, i, len(s)) && slices.Equal(low[i:i+len(s)], s) {
				mark(i, i+len(s))
			}
		}
	}
	if !found {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(low); i++ {
		if !hidden[i] {
			b.WriteString(text[at[i]:at[i+1]])
			continue
		}
		b.WriteString(redacted)
		for i+1 < len(low) && hidden[i+1] {
			i++
		}
	}
	return b.String()
}

// edge returns how many runes at the start of text are the last of s's:
// at least edgeLen, fewer than sliceLen (longer ones are slices).
func edge(text, s []rune) int {
	for n := min(sliceLen-1, len(text), len(s)); n >= edgeLen; n-- {
		if slices.Equal(text[:n], s[len(s)-n:]) {
			return n
		}
	}
	return 0
}

// edgeEnd returns how many runes at the end of text are the first of s's.
func edgeEnd(text, s []rune) int {
	for n := min(sliceLen-1, len(text), len(s)); n >= edgeLen; n-- {
		if slices.Equal(text[len(text)-n:], s[:n]) {
			return n
		}
	}
	return 0
}

// word reports whether the n runes of text at i stand apart from the
// letters and digits around them.
func word(text []rune, i, n int) bool {
	inWord := func(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }
	return (i == 0 || !inWord(text[i-1])) && (i+n == len(text) || !inWord(text[i+n]))
}

// Error returns err with its text redacted, still wrapping err for
// errors.Is and errors.As; err itself when there is nothing to redact.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	text := r.Redact(err.Error())
	if text == err.Error() {
		return err
	}
	return &redactedError{text: text, err: err}
}

// redactedError is an error whose text is redacted.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
