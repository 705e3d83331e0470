package importer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-vcard"
)

// The vCard reader is our own rather than go-vcard's Decoder, which loses
// what real exports hold: it unescapes "\," before CATEGORIES are split and
// keeps "\;" so N and ORG split in the wrong places (the vcard-dir sink
// writes both), drops the value of vCard 2.1 lines with bare parameters
// (TEL;CELL;VOICE:...), and silently skips the continuation lines of
// quoted-printable values. go-vcard still supplies the names and the
// parameter set.

// maxLogicalLine bounds one unfolded line (an inline PHOTO is the longest
// in practice), so a file that is not a vCard cannot exhaust memory.
const maxLogicalLine = 16 << 20

// property is one content line of a card. value is as written, still
// encoded and escaped: how to decode it depends on the property.
type property struct {
	line   int
	group  string // Apple's "item1" in item1.TEL, lowercased
	name   string // uppercased
	params vcard.Params
	value  string
}

// rawCard is one BEGIN:VCARD ... END:VCARD block.
type rawCard struct {
	line     int // of BEGIN:VCARD
	props    []property
	problems []string // what makes the card unreadable
}

// lineReader returns the logical lines of a vCard file: folded lines are
// joined, and the soft line breaks of quoted-printable values are kept for
// the decoder.
type lineReader struct {
	r      *bufio.Reader
	n      int // physical lines read
	peeked *string
}

// physical returns the next physical line without its line end.
func (lr *lineReader) physical() (string, error) {
	if lr.peeked != nil {
		l := *lr.peeked
		lr.peeked = nil
		lr.n++
		return l, nil
	}
	l, err := lr.r.ReadString('\n')
	if err == io.EOF && l != "" {
		err = nil
	}
	if err != nil {
		return "", err
	}
	lr.n++
	return strings.TrimRight(l, "\r\n"), nil
}

func (lr *lineReader) peek() (string, error) {
	l, err := lr.physical()
	if err != nil {
		return "", err
	}
	lr.n--
	lr.peeked = &l
	return l, nil
}

// next returns the next non-blank logical line and the number of its first
// physical line.
func (lr *lineReader) next() (string, int, error) {
	first, err := lr.physical()
	for err == nil && strings.TrimSpace(first) == "" {
		first, err = lr.physical()
	}
	if err != nil {
		return "", 0, err
	}
	at := lr.n
	var b strings.Builder
	b.WriteString(first)
	qp := isQuotedPrintable(first)
	for b.Len() <= maxLogicalLine {
		if qp && strings.HasSuffix(first, "=") {
			// A soft line break: the value goes on, as it is, on the next line.
			if first, err = lr.physical(); err != nil {
				break
			}
			b.WriteString("\r\n" + first)
			continue
		}
		next, err := lr.peek()
		if err != nil || next == "" || (next[0] != ' ' && next[0] != '\t') {
			break
		}
		lr.physical()
		first = next[1:]
		b.WriteString(first)
	}
	if b.Len() > maxLogicalLine {
		return "", at, fmt.Errorf("line %d: longer than %d MiB unfolded", at, maxLogicalLine>>20)
	}
	return b.String(), at, nil
}

// isQuotedPrintable reports whether a line's parameters say its value is
// quoted-printable (vCard 2.1, as Outlook writes it).
func isQuotedPrintable(line string) bool {
	head, _, _ := strings.Cut(line, ":")
	return strings.Contains(strings.ToUpper(head), "QUOTED-PRINTABLE")
}

// readCards calls each with every card of a vCard file, in order. Cards
// that are cut short or hold malformed lines come with their problems; an
// error means the file is not a sequence of cards at all.
func readCards(r *bufio.Reader, each func(rawCard)) error {
	lr := &lineReader{r: r}
	var cur *rawCard
	for {
		line, at, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch upper := strings.ToUpper(strings.TrimSpace(line)); {
		case upper == "BEGIN:VCARD":
			if cur != nil {
				cur.problems = append(cur.problems, fmt.Sprintf("no END:VCARD before the next BEGIN:VCARD on line %d", at))
				each(*cur)
			}
			cur = &rawCard{line: at}
		case cur == nil:
			return fmt.Errorf("line %d: %q is outside of any BEGIN:VCARD ... END:VCARD", at, clip(line))
		case upper == "END:VCARD":
			each(*cur)
			cur = nil
		default:
			p, err := parseProperty(line)
			if err != nil && continuesBase64(cur, line) {
				// vCard 2.1 writers do not always indent base64 lines.
				cur.props[len(cur.props)-1].value += strings.TrimSpace(line)
				continue
			}
			if err != nil {
				cur.problems = append(cur.problems, fmt.Sprintf("line %d: %v", at, err))
				continue
			}
			p.line = at
			cur.props = append(cur.props, p)
		}
	}
	if cur != nil {
		cur.problems = append(cur.problems, "the file ends before END:VCARD")
		each(*cur)
	}
	return nil
}

// continuesBase64 reports whether line, which is no property, is more of
// the card's last value, a base64 one.
func continuesBase64(c *rawCard, line string) bool {
	if len(c.props) == 0 {
		return false
	}
	switch strings.ToUpper(c.props[len(c.props)-1].params.Get("ENCODING")) {
	case "B", "BASE64":
		return strings.Trim(strings.TrimSpace(line), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == ""
	}
	return false
}

// parseProperty splits a content line: [group.]name[;param...]:value.
func parseProperty(line string) (property, error) {
	colon := unquotedIndex(line, ':')
	if colon < 0 {
		return property{}, fmt.Errorf("%q is not a vCard property (no colon)", clip(line))
	}
	head, value := line[:colon], line[colon+1:]
	parts := splitUnquoted(head, ';')
	var p property
	name := parts[0]
	if group, rest, ok := strings.Cut(name, "."); ok {
		p.group, name = strings.ToLower(group), rest
	}
	if name == "" || strings.Trim(strings.ToUpper(name), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		return property{}, fmt.Errorf("%q is not a vCard property name", clip(parts[0]))
	}
	p.name, p.value = strings.ToUpper(name), value
	p.params = vcard.Params{}
	for _, param := range parts[1:] {
		addParam(p.params, param)
	}
	return p, nil
}

// addParam adds one parameter. vCard 2.1 allows bare values: an encoding,
// or else a type (TEL;CELL;VOICE).
func addParam(params vcard.Params, param string) {
	k, v, ok := strings.Cut(param, "=")
	if !ok {
		k, v = vcard.ParamType, param
		switch strings.ToUpper(param) {
		case "QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT":
			k = "ENCODING"
		}
	}
	k = strings.ToUpper(strings.TrimSpace(k))
	for _, value := range splitUnquoted(v, ',') {
		value = strings.Trim(value, `"`)
		if k != vcard.ParamType {
			params.Add(k, value)
			continue
		}
		// vCard 4.0 writes several types as one quoted list: TYPE="voice,cell".
		for t := range strings.SplitSeq(value, ",") {
			params.Add(k, t)
		}
	}
}

// unquotedIndex is the index of the first c outside double quotes, or -1.
func unquotedIndex(s string, c byte) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case c:
			if !quoted {
				return i
			}
		}
	}
	return -1
}

func splitUnquoted(s string, sep byte) []string {
	var parts []string
	for {
		i := unquotedIndex(s, sep)
		if i < 0 {
			return append(parts, s)
		}
		parts = append(parts, s[:i])
		s = s[i+1:]
	}
}

// clip shortens text quoted in an error.
func clip(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}
