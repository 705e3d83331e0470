package sinks

import (
	"errors"
	"io"
	"testing"
)

type closer struct{ closed int }

func (c *closer) Close() error { c.closed++; return nil }

// What a key keeps is made once and found by every later Get, until
// Close closes it.
func TestResidents(t *testing.T) {
	var r Residents
	opened := 0
	open := func() (io.Closer, error) { opened++; return &closer{}, nil }
	a, err := r.Get("vcard-dir /a", open)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := r.Get("vcard-dir /a", open); again != a {
		t.Error("a second Get made another")
	}
	b, _ := r.Get("vcard-dir /b", open)
	if b == a || opened != 2 {
		t.Errorf("two keys, %d made", opened)
	}
	if _, err := r.Get("vcard-dir /c", func() (io.Closer, error) { return nil, errors.New("no") }); err == nil {
		t.Error("an open that failed is not an error")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if a.(*closer).closed != 1 || b.(*closer).closed != 1 {
		t.Error("Close did not close each once")
	}
	if c, _ := r.Get("vcard-dir /a", open); c == a {
		t.Error("Close did not forget")
	}
}
