package secret

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// sliceLen is the length, in characters, of the shortest piece of a
// secret that a Redactor finds anywhere: a secret at least this long is
// found whole, in part, or cut off, by any slice of it this long.
const sliceLen = 8

// slice is sliceLen characters of a secret, lower-cased.
type slice [sliceLen]rune

// Redactor removes secrets from a text that came from elsewhere: an error
// body, a status line or a redirect's location from a server that may
// quote the request's credentials back. It finds each secret, and its
// URL-escaped and JSON-escaped forms, regardless of case; a secret of at
// least 8 characters also by any slice of 8 of them (an echo cut short, or
// the middle of it). A shorter secret is found whole, as a word of its
// own, so that a short password does not blank out the same letters
// inside other words. Fewer than 8 characters of a longer secret, as a text cut
// short may end with, are not found: so few give nothing away, and
// looking for them would blank out ordinary words.
// Each place found becomes "[redacted]".
//
// A Redactor belongs on the text a server sent, before the caller builds
// its error around it (Quote, Error): run over the caller's own words, the
// URLs it built or Go's error text, a short secret would blank out a word
// that happens to equal it.
//
// A nil Redactor removes nothing. A Redactor is safe for concurrent use.
type Redactor struct {
	slices map[slice]struct{}
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
	if r == nil || text == "" || len(r.slices) == 0 && len(r.short) == 0 {
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

// word reports whether the n runes of text at i stand apart from the
// letters and digits around them.
func word(text []rune, i, n int) bool {
	inWord := func(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }
	return (i == 0 || !inWord(text[i-1])) && (i+n == len(text) || !inWord(text[i+n]))
}

// Quote returns what a server sent (an error body, a message in it) as
// an error may quote it: on one line, without control or format
// characters (a terminal's escapes, zero-width spaces, bidirectional
// overrides), without the secrets r finds, and cut to at most max bytes
// on a rune boundary, with "…" where it was cut. The characters go before
// the secrets are looked for, so that a secret they break up is found;
// the cut comes after, so that a secret it would shorten is found whole.
func (r *Redactor) Quote(text []byte, max int) string {
	s := strings.Map(func(c rune) rune {
		switch {
		case unicode.IsSpace(c):
			return ' '
		case unicode.IsControl(c), unicode.Is(unicode.Cf, c):
			return -1
		}
		return c
	}, strings.ToValidUTF8(string(text), "\uFFFD"))
	s = r.Redact(strings.Join(strings.Fields(s), " "))
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Error returns err with its text redacted; err itself when there is
// nothing to redact. It is for an error whose text holds a server's words
// (net/http's quoting a malformed status line, a NATS server's -ERR),
// before the caller wraps it in its own. The library's words around the
// server's are searched too, there being no telling them apart: a word
// of them that equals a short secret is blanked out.
//
// errors.Is still finds what err wraps (sinks.ErrUnavailable, a context's
// error), but errors.As finds none of it: a wrapped error's fields hold
// the text unredacted (a *url.Error's URL, say), and printing one would
// undo the redaction.
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

// redactedError is an error whose text is redacted. It has no Unwrap, so
// that errors.As cannot hand out the original.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }

// Is reports whether the original error is, or wraps, target.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
