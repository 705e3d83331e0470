package natsstate

import (
	"slices"
	"sort"
)

// seqSet is a sink's queue: a set of sequence numbers read in order, page
// by page. Removing is O(1) (order keeps the number until it is
// compacted); adding in order, as commits do, is an append.
type seqSet struct {
	set    map[uint64]struct{}
	order  []uint64 // ascending when sorted; may hold removed numbers
	sorted bool
}

func (s *seqSet) len() int { return len(s.set) }

func (s *seqSet) has(seq uint64) bool {
	_, ok := s.set[seq]
	return ok
}

func (s *seqSet) add(seq uint64) {
	if s.set == nil {
		s.set, s.sorted = map[uint64]struct{}{}, true
	}
	if s.has(seq) {
		return
	}
	s.set[seq] = struct{}{}
	if n := len(s.order); n > 0 && s.order[n-1] >= seq {
		s.sorted = false // a redelivered letter, or a number removed before
	}
	s.order = append(s.order, seq)
}

func (s *seqSet) remove(seq uint64) {
	delete(s.set, seq)
	if len(s.order) > 64 && len(s.order) > 2*len(s.set) {
		s.order = slices.DeleteFunc(s.order, func(n uint64) bool { return !s.has(n) })
	}
}

// after returns up to limit numbers above after, in order.
func (s *seqSet) after(after uint64, limit int) []uint64 {
	s.sort()
	var out []uint64
	i := sort.Search(len(s.order), func(i int) bool { return s.order[i] > after })
	for ; i < len(s.order) && len(out) < limit; i++ {
		if s.has(s.order[i]) {
			out = append(out, s.order[i])
		}
	}
	return out
}

// all returns every number, in order.
func (s *seqSet) all() []uint64 { return s.after(0, len(s.set)) }

func (s *seqSet) sort() {
	if s.sorted {
		return
	}
	s.order = slices.DeleteFunc(s.order, func(n uint64) bool { return !s.has(n) })
	slices.Sort(s.order)
	s.order = slices.Compact(s.order)
	s.sorted = true
}
