package source

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// maxIDBytes bounds the id read from a contact that is skipped; a longer
// one is not read, and the contact is named by its place in the list.
const maxIDBytes = 1 << 10

// scanner finds where one JSON object ends in a stream, without decoding
// it, and reads its top-level "id" on the way, so that an object too large
// or too deeply nested to decode can still be skipped whole and named.
//
// It follows strings (and their escapes) exactly and matches brackets up
// to maxTracked levels; beyond that it only counts them. It does not
// check the rest of the grammar: what it lets through is validated by
// json.Valid before anyone decodes it, and what it skips is never read.
type scanner struct {
	depth    int    // open objects and arrays
	deepest  int    // the most depth reached
	arrays   uint64 // bit i-1 set: the bracket open at depth i is an array
	inString bool
	escaped  bool

	// At the object's top level, a key is expected after '{' or ',';
	// key collects the key being read, and the value of an "id" key is
	// copied to id until it ends.
	expectKey bool
	inKey     bool
	key       []byte
	idKey     bool
	capturing bool
	id        []byte
	idDone    bool
	idTooLong bool
}

// maxTracked is how deep the scanner matches each closing bracket with
// its opening one, one bit of arrays per level: as deep as a contact may
// go (MaxContactDepth).
const maxTracked = 64

func (s *scanner) reset() {
	*s = scanner{key: s.key[:0], id: s.id[:0]}
}

// scan reads p until the object ends. It returns how many bytes of p
// belong to the object and whether it ended there, or a syntax error.
func (s *scanner) scan(p []byte) (n int, done bool, err error) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if s.inString {
			if s.escaped {
				s.escaped = false
				s.keep(c)
				continue
			}
			if !s.inKey && !s.capturing {
				// Most of a large contact is the inside of strings: jump
				// to the next quote or backslash.
				j := bytes.IndexByte(p[i:], '"')
				if j < 0 {
					j = len(p) - i
				}
				if k := bytes.IndexByte(p[i:i+j], '\\'); k >= 0 {
					j = k
				}
				i += j
				if i == len(p) {
					return len(p), false, nil
				}
				c = p[i]
			}
			switch c {
			case '\\':
				s.escaped = true
				s.keep(c)
			case '"':
				s.inString = false
				if s.inKey {
					s.inKey = false
					s.idKey = string(s.key) == "id"
					continue
				}
				s.keep(c)
			default:
				s.keep(c)
			}
			continue
		}
		switch c {
		case '"':
			s.inString = true
			if s.depth == 1 && s.expectKey {
				s.expectKey, s.inKey, s.key = false, true, s.key[:0]
				continue
			}
		case ':':
			if s.depth == 1 && s.idKey {
				// The last "id" counts, as when the object is decoded.
				s.capturing, s.id, s.idTooLong = true, s.id[:0], false
				continue
			}
		case ',':
			if s.depth == 1 {
				s.endValue()
				s.expectKey = true
				continue
			}
		case '{', '[':
			s.depth++
			s.deepest = max(s.deepest, s.depth)
			if s.depth <= maxTracked {
				bit := uint64(1) << (s.depth - 1)
				if c == '[' {
					s.arrays |= bit
				} else {
					s.arrays &^= bit
				}
			}
			if s.depth == 1 {
				s.expectKey = true
				continue
			}
		case '}', ']':
			if s.depth <= maxTracked && (s.arrays>>(s.depth-1)&1 == 1) != (c == ']') {
				return i, false, fmt.Errorf("invalid character %q closing the %s opened at depth %d", c, s.opened(), s.depth)
			}
			if s.depth == 1 {
				s.endValue()
			}
			s.depth--
			if s.depth == 0 {
				return i + 1, true, nil
			}
		}
		s.keep(c)
	}
	return len(p), false, nil
}

// opened names the bracket open at the current depth.
func (s *scanner) opened() string {
	if s.arrays>>(s.depth-1)&1 == 1 {
		return "array"
	}
	return "object"
}

// keep notes c as part of the key or the id being read, if any.
func (s *scanner) keep(c byte) {
	switch {
	case s.inKey:
		if len(s.key) < len("id")+1 {
			s.key = append(s.key, c)
		}
	case s.capturing:
		if len(s.id) < maxIDBytes {
			s.id = append(s.id, c)
		} else {
			s.idTooLong = true
		}
	}
}

// endValue ends a top-level value: if it was the id, the id is read.
func (s *scanner) endValue() {
	if s.capturing {
		s.capturing, s.idDone = false, true
	}
	s.idKey = false
}

// ID returns the object's top-level id as the engine reads it, or "" when
// the object has none, or one too long to read.
func (s *scanner) ID() string {
	if !s.idDone || s.idTooLong {
		return ""
	}
	// What was read may not be valid JSON: the object is not checked.
	id := bytes.TrimSpace(s.id)
	if !json.Valid(id) {
		return ""
	}
	return contact.Text(id)
}
