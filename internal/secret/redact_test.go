package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	const token = "tok_Live_0123456789abcdef"
	r := NewRedactor(New(token), New("Pa55"), New(""), New("a/b+c d\"e&f=gh"))
	tests := []struct{ name, in, want string }{
		{"none", "400 Bad Request: missing field email", "400 Bad Request: missing field email"},
		{"as is", "Authorization: Bearer " + token + " refused", "Authorization: Bearer [redacted] refused"},
		{"upper-cased", "AUTHORIZATION: BEARER " + strings.ToUpper(token), "AUTHORIZATION: BEARER [redacted]"},
		{"lower-cased", "got " + strings.ToLower(token) + ".", "got [redacted]."},
		{"cut", "your token was " + token[:12], "your token was [redacted]"},
		{"cut to its first eight", "your token was " + token[:8], "your token was [redacted]"},
		{"seven at the end are not enough", "ends in " + token[:7], "ends in " + token[:7]},
		{"four at the start are not enough", token[len(token)-4:] + " was the rest", token[len(token)-4:] + " was the rest"},
		{"a middle slice", "seen: x" + token[5:15] + "y", "seen: x[redacted]y"},
		{"one slice too short", "seen: " + token[5:12] + "!", "seen: " + token[5:12] + "!"},
		{"twice", token + " and " + token, "[redacted] and [redacted]"},
		{"short, whole", "password pa55 refused", "password [redacted] refused"},
		{"short, within a word", "spa55word", "spa55word"},
		{"short, at an edge", "pa55: refused", "[redacted]: refused"},
		{"query-escaped", "url: /x?k=a%2Fb%2Bc+d%22e%26f%3Dgh", "url: /x?k=[redacted]"},
		{"JSON-escaped", `{"error": "a/b+c d\"e\u0026f=gh"}`, `{"error": "[redacted]"}`},
		{"not UTF-8", "\xff" + token + "\xfe", "\xff[redacted]\xfe"},
		{"multi-byte around", "é" + strings.ToUpper(token) + "ß", "é[redacted]ß"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactorNilAndWith(t *testing.T) {
	var none *Redactor
	if got := none.Redact("secret-value-1234"); got != "secret-value-1234" {
		t.Errorf("a nil Redactor changed the text: %q", got)
	}
	a := NewRedactor(New("first-secret-abc"))
	b := a.With(New("other-token-xyz"))
	if got := a.Redact("other-token-xyz"); got != "other-token-xyz" {
		t.Errorf("With changed its receiver: %q", got)
	}
	if got := b.Redact("first-secret-abc other-token-xyz"); got != "[redacted] [redacted]" {
		t.Errorf("With lost a secret: %q", got)
	}
	if got := none.With(New("third-secret-000")).Redact("third-secret-000"); got != "[redacted]" {
		t.Errorf("With on nil: %q", got)
	}
	held := struct{ R *Redactor }{b}
	if got := fmt.Sprintf("%v %+v %#v %d %x %s", b, b, b, b, b, held); got != "secret.Redactor secret.Redactor secret.Redactor secret.Redactor secret.Redactor {secret.Redactor}" {
		t.Errorf("printing a Redactor shows %s", got)
	}
}

func TestRedactError(t *testing.T) {
	r := NewRedactor(New("sk_live_0123456789"))
	if r.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
	plain := errors.New("nothing secret")
	if r.Error(plain) != plain {
		t.Error("an error without secrets was wrapped")
	}
	err := r.Error(&fs.PathError{Op: "open", Path: "SK_LIVE_0123456789", Err: fs.ErrNotExist})
	if err.Error() != "open [redacted]: file does not exist" {
		t.Errorf("Error() = %q", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("errors.Is no longer finds what the original wraps")
	}
	// The original's fields hold the secret: errors.As must not reach them.
	var pe *fs.PathError
	if errors.As(err, &pe) {
		t.Errorf("errors.As reaches the original, whose Path is %q", pe.Path)
	}
	if errors.Unwrap(err) != nil {
		t.Error("the redacted error unwraps to the original")
	}
}

// Short secrets are found only as words of their own, and long ones by
// no fewer than 8 characters: the words around them stay.
func TestRedactKeepsWords(t *testing.T) {
	r := NewRedactor(New("api"), New("1"), New("webhook"), New("sk_live_0123456789abcdef"))
	for _, text := range []string{
		"rapid webhooks: 11 failed at port 8081",
		"the key starts sk_l and ends cdef", // 4 characters of a long secret, at each end
		"sk_live was cut",                   // 7
	} {
		if got := r.Redact(text); got != text {
			t.Errorf("Redact(%q) = %q", text, got)
		}
	}
}

func TestQuote(t *testing.T) {
	const token = "tok_Live_0123456789abcdef"
	r := NewRedactor(New(token))
	tests := []struct {
		name string
		body string
		max  int
		want string
	}{
		{"one line", "line one\r\n\tline two  ", 200, "line one line two"},
		{"controls out", "a\x1b]0;title\x07b\x1b[8mc", 200, "a]0;titleb[8mc"},
		{"a secret broken up by controls", "Bearer tok_Live_\x000123\u200b456789abcdef!", 200, "Bearer [redacted]!"},
		{"redacted before the cut", "you sent " + token, 14, "you sent [reda…"},
		{"cut on a rune boundary", "ééééé", 5, "éé…"},
		{"not UTF-8", "a\xffb", 200, "a\uFFFDb"},
		{"short enough", "400 bad request", 15, "400 bad request"},
		{"empty", " \n ", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Quote([]byte(tt.body), tt.max); got != tt.want {
				t.Errorf("Quote(%q, %d)\n got %q\nwant %q", tt.body, tt.max, got, tt.want)
			}
		})
	}
	var none *Redactor
	if got := none.Quote([]byte("a\nb\x00c"), 200); got != "a bc" {
		t.Errorf("a nil Redactor's Quote: %q", got)
	}
}

func BenchmarkRedact(b *testing.B) {
	r := NewRedactor(New("sk_live_0123456789abcdef"), New("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), New("Bearer canaryHookHeaderToken9W4"))
	text := strings.Repeat("a receiver's error body of four kilobytes, ", 100)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		r.Redact(text)
	}
}
