package card

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-vcard"
)

// Identity is what tells whose a card is: the properties a sink compares
// to recognise a card as the one Encode wrote for a contact.
type Identity struct {
	UID       string // the first UID's value, "" if there is none
	ConnectID string // the first X-CONNECT-ID's value (FieldConnectID), "" if none
}

// ErrNotCard is wrapped by Identify's error for data that is not one
// complete vCard within the most it reads.
var ErrNotCard = errors.New("not a vCard")

// maxRead is the most Identify reads of a card: more than the largest card
// Encode writes of a contact the API lets through (source.MaxContactBytes,
// 4 MiB of JSON, makes at most about 25 MiB of card: the name is written
// twice, in FN and N, and a byte of invalid UTF-8 becomes three).
const maxRead = 32 << 20

// maxName bounds the group and name kept of a property; a longer one is
// none of those Identify looks for.
const maxName = 64

// Identify reads the UID and X-CONNECT-ID of the vCard at the start of r,
// up to its END:VCARD and no further, reading at most 32 MiB. Lines are
// unfolded as they are read, in time linear in their length: go-vcard's
// decoder takes time quadratic in a folded line's length, hours for the
// 16 MiB a server may send. Only the values looked for are kept, so memory
// does not grow with the card's other properties.
//
// Property names are matched ignoring case and group (item1.UID), and
// parameters are skipped, quoted ones included (UID;X-A="a:b":...).
// Values are unescaped as TEXT. The card must start with BEGIN:VCARD and
// end with END:VCARD (either line end, CRLF or LF), or the error wraps
// ErrNotCard; any other error is r's.
func Identify(r io.Reader) (Identity, error) {
	limited := &io.LimitedReader{R: r, N: maxRead}
	s := scanner{r: bufio.NewReader(limited)}
	var id Identity
	begun := false
	for {
		p, err := s.next()
		switch {
		case errors.Is(err, io.EOF) && limited.N == 0:
			return Identity{}, fmt.Errorf("card: %w: no END:VCARD in its first %d MiB", ErrNotCard, maxRead>>20)
		case errors.Is(err, io.EOF):
			return Identity{}, fmt.Errorf("card: %w: it ends before END:VCARD", ErrNotCard)
		case err != nil:
			return Identity{}, fmt.Errorf("card: %w", err)
		case !p.ok:
			continue // not a content line: blank, or no colon
		case !begun:
			if p.name != "BEGIN" || !strings.EqualFold(p.value, "VCARD") {
				return Identity{}, fmt.Errorf("card: %w: it does not start with BEGIN:VCARD", ErrNotCard)
			}
			begun = true
		case p.name == "END":
			if !strings.EqualFold(p.value, "VCARD") {
				return Identity{}, fmt.Errorf("card: %w: it ends with an END other than END:VCARD", ErrNotCard)
			}
			return id, nil
		case p.name == vcard.FieldUID && id.UID == "":
			id.UID = unescape(p.value)
		case p.name == FieldConnectID && id.ConnectID == "":
			id.ConnectID = unescape(p.value)
		}
	}
}

// wanted are the properties whose values Identify keeps.
var wanted = []string{"BEGIN", "END", vcard.FieldUID, FieldConnectID}

// contentLine is a content line as scanned. name is the property's name
// as in wanted, without group, and value its value, raw; for any other
// property both are "". ok is false for what is not a content line: a
// blank line, or one without a colon after name and parameters.
type contentLine struct {
	name, value string
	ok          bool
}

// scanner reads content lines, unfolding them as it goes.
type scanner struct {
	r *bufio.Reader

	// The line being read.
	started bool // it has a byte, or a line end
	phase   int  // inName, inParams or inValue
	quoted  bool // in a quoted parameter value
	name    []byte
	long    bool   // the name is longer than maxName
	want    string // the name, as in wanted; "" for another
	value   []byte // kept for a wanted name only
}

const (
	inName = iota
	inParams
	inValue
)

// next reads the next logical line. Its error is io.EOF once r has no
// more lines.
func (s *scanner) next() (contentLine, error) {
	s.started, s.phase, s.quoted, s.name, s.long, s.want, s.value = false, inName, false, s.name[:0], false, "", s.value[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) && len(chunk) > 1 && chunk[len(chunk)-1] == '\r' {
			// The CR may start a CRLF: read it again with what follows.
			s.r.UnreadByte()
			chunk = chunk[:len(chunk)-1]
		}
		s.started = s.started || len(chunk) > 0
		ended := bytes.HasSuffix(chunk, []byte("\n"))
		if ended {
			chunk = bytes.TrimSuffix(chunk[:len(chunk)-1], []byte("\r"))
		}
		s.feed(chunk)
		switch {
		case err == io.EOF && !s.started:
			return contentLine{}, io.EOF
		case err == io.EOF:
			return s.scanned(), nil
		case err != nil && !errors.Is(err, bufio.ErrBufferFull):
			return contentLine{}, err
		case !ended:
			continue
		}
		// A line end followed by a space or tab is a fold (RFC 6350,
		// 3.2): the line goes on after it.
		next, err := s.r.Peek(1)
		switch {
		case err != nil && err != io.EOF:
			return contentLine{}, err
		case err != nil || (next[0] != ' ' && next[0] != '\t'):
			return s.scanned(), nil
		}
		s.r.Discard(1)
	}
}

// feed takes the next part of the unfolded line.
func (s *scanner) feed(b []byte) {
	for len(b) > 0 {
		switch s.phase {
		case inName:
			i := bytes.IndexAny(b, ";:")
			if i < 0 {
				s.addName(b)
				return
			}
			s.addName(b[:i])
			s.phase = inParams
			if b[i] == ':' {
				s.startValue()
			}
			b = b[i+1:]
		case inParams:
			i := bytes.IndexAny(b, `":`)
			if i < 0 {
				return
			}
			if b[i] == '"' {
				s.quoted = !s.quoted
			} else if !s.quoted {
				s.startValue()
			}
			b = b[i+1:]
		case inValue:
			if s.want != "" {
				s.value = append(s.value, b...)
			}
			return
		}
	}
}

func (s *scanner) addName(b []byte) {
	if len(s.name)+len(b) > maxName {
		s.long = true
		return
	}
	s.name = append(s.name, b...)
}

// startValue looks the name up in wanted, once it is whole.
func (s *scanner) startValue() {
	s.phase = inValue
	if s.long {
		return
	}
	name := s.name
	if _, bare, grouped := bytes.Cut(name, []byte(".")); grouped {
		name = bare
	}
	for _, w := range wanted {
		if strings.EqualFold(string(name), w) {
			s.want = w
		}
	}
}

func (s *scanner) scanned() contentLine {
	return contentLine{name: s.want, value: string(s.value), ok: s.phase == inValue}
}

// unescaper undoes the escapes of TEXT (RFC 6350, 3.4; RFC 2426, 4).
var unescaper = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";")

func unescape(v string) string { return unescaper.Replace(v) }
