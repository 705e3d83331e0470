package importer

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"
)

// decoded returns the value with its transfer encoding and character set
// undone, still escaped.
func (p property) decoded() (string, error) {
	v := p.value
	switch enc := strings.ToUpper(p.params.Get("ENCODING")); enc {
	case "", "8BIT", "7BIT":
	case "QUOTED-PRINTABLE":
		b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(v)))
		if err != nil {
			return "", fmt.Errorf("%s: quoted-printable: %w", p.name, err)
		}
		v = string(b)
	case "B", "BASE64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
		if err != nil {
			return "", fmt.Errorf("%s: base64: %w", p.name, err)
		}
		v = string(b)
	default:
		return "", fmt.Errorf("%s: ENCODING=%s is not supported", p.name, enc)
	}
	v, err := fromCharset(v, p.params.Get("CHARSET"))
	if err != nil {
		return "", fmt.Errorf("%s: %w", p.name, err)
	}
	return v, nil
}

// text returns the value as one TEXT.
func (p property) text() (string, error) {
	v, err := p.decoded()
	return strings.TrimSpace(unescape(v)), err
}

// components returns the parts of a structured value (N, ORG), split at
// the semicolons that are not escaped.
func (p property) components() ([]string, error) {
	return p.split(';')
}

// list returns the values of a list (CATEGORIES), split at the commas that
// are not escaped.
func (p property) list() ([]string, error) {
	return p.split(',')
}

func (p property) split(sep byte) ([]string, error) {
	v, err := p.decoded()
	if err != nil {
		return nil, err
	}
	var parts []string
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, strings.TrimSpace(unescape(v[start:i])))
			start = i + 1
		}
	}
	return append(parts, strings.TrimSpace(unescape(v[start:]))), nil
}

// unescape undoes the escapes of RFC 2426 and RFC 6350 (and "\:", which
// some writers use). An unknown escape is kept as it is, backslash and
// all: it was most likely meant literally, as in a Windows path.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i == len(s)-1 {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n', 'N':
			b.WriteByte('\n')
		case '\\', ',', ';', ':':
			b.WriteByte(s[i])
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// windows1252 holds the characters Windows-1252 puts at 0x80-0x9F, where
// ISO-8859-1 has control characters; 0 marks the five unused bytes.
var windows1252 = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}

// fromCharset converts s from the charset a CHARSET parameter names to
// UTF-8. vCard 3.0 and 4.0 are UTF-8; vCard 2.1 writers, Outlook first,
// also use ISO-8859-1 and Windows-1252. Others are refused rather than
// guessed, and so is text that claims UTF-8 but is not.
func fromCharset(s, charset string) (string, error) {
	switch strings.ToUpper(charset) {
	case "", "UTF-8", "UTF8", "US-ASCII", "ASCII":
		if !utf8.ValidString(s) {
			return "", fmt.Errorf("not valid UTF-8 (if it is Windows-1252 or ISO-8859-1, a CHARSET parameter says so)")
		}
		return s, nil
	case "ISO-8859-1", "ISO8859-1", "LATIN1":
		return latin(s, false), nil
	case "WINDOWS-1252", "CP1252":
		return latin(s, true), nil
	}
	return "", fmt.Errorf("CHARSET=%s is not supported (UTF-8, ISO-8859-1 and Windows-1252 are)", charset)
}

func latin(s string, cp1252 bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		r := rune(s[i])
		if cp1252 && r >= 0x80 && r < 0xA0 && windows1252[r-0x80] != 0 {
			r = windows1252[r-0x80]
		}
		b.WriteRune(r)
	}
	return b.String()
}
