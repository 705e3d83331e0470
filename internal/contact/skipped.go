package contact

import (
	"fmt"
	"strings"
)

// Skipped is a contact of the source's list that was not handed over,
// because taking it would cost too much (too large, or nested too deeply).
// Its id, when it could be read, is what keeps it from being taken for
// deleted.
type Skipped struct {
	ID       string // "" when it could not be read
	Position int    // its place in the list, from 1
	Reason   string // why it was skipped, such as "larger than 4 MiB"
}

func (s Skipped) String() string {
	if s.ID == "" {
		return fmt.Sprintf("contact number %d of the list (id unreadable): %s", s.Position, s.Reason)
	}
	// Quoted: the id comes from the API, and this text reaches terminals.
	return fmt.Sprintf("contact %q (number %d of the list): %s", s.ID, s.Position, s.Reason)
}

// SkippedError means that the whole contact list arrived and every
// contact in it was handed over except these.
type SkippedError struct {
	Contacts []Skipped
}

// shownSkipped bounds how many skipped contacts an error names.
const shownSkipped = 3

func (e *SkippedError) Error() string {
	var b strings.Builder
	n := len(e.Contacts)
	fmt.Fprintf(&b, "skipped %d contact", n)
	if n != 1 {
		b.WriteString("s")
	}
	for i, s := range e.Contacts[:min(n, shownSkipped)] {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(s.String())
	}
	if n > shownSkipped {
		fmt.Fprintf(&b, "; and %d more", n-shownSkipped)
	}
	return b.String()
}
