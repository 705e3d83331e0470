package card

import (
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-vcard"
)

// property is one content line. Parameter values are tokens chosen by this
// package and need no quoting; value is already escaped.
type property struct {
	name   string
	params vcard.Params
	value  string
}

// text is a property with one TEXT value.
func text(name, value string) property {
	return property{name: name, value: escape(value)}
}

// structured is a property whose value has components (N, ORG), each
// escaped on its own and joined by semicolons.
func structured(name string, components ...string) property {
	return property{name: name, value: escapeAll(components, ";")}
}

// list is a property with several TEXT values (CATEGORIES), each escaped on
// its own and joined by commas.
func list(name string, values ...string) property {
	return property{name: name, value: escapeAll(values, ",")}
}

func (p property) line() string {
	var b strings.Builder
	b.WriteString(p.name)
	for _, k := range slices.Sorted(maps.Keys(p.params)) {
		b.WriteString(";" + k + "=" + strings.Join(p.params[k], ","))
	}
	b.WriteString(":" + p.value)
	return b.String()
}

// textEscaper escapes TEXT as both RFCs allow: RFC 2426 requires all four
// escapes, RFC 6350 requires all but the semicolon and permits that one.
var textEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, ",", `\,`, ";", `\;`)

func escape(s string) string { return textEscaper.Replace(clean(s)) }

func escapeAll(values []string, sep string) string {
	escaped := make([]string, len(values))
	for i, v := range values {
		escaped[i] = escape(v)
	}
	return strings.Join(escaped, sep)
}

// clean makes s fit in a content line: line breaks become LF (escaped
// later), invalid UTF-8 becomes U+FFFD, and control characters other than
// tab, which no vCard grammar allows, are dropped.
func clean(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// maxLine is the longest a physical line may be, in octets without the CRLF.
const maxLine = 75

// fold writes line to b with CRLF line ends, folded so that no physical line
// exceeds maxLine octets; a continuation line starts with a space, which
// counts. It never cuts inside a UTF-8 sequence.
func fold(b *strings.Builder, line string) {
	limit := maxLine
	for len(line) > limit {
		cut := limit
		for !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		limit = maxLine - 1
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}
