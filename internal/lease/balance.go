package lease

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
)

// score is the rendezvous hash of a workspace and an instance: each
// instance prefers the workspaces it scores highest, and different
// instances score them differently, so they tend to want different ones.
func score(workspace, instance string) uint64 {
	sum := sha256.Sum256([]byte(workspace + "\x00" + instance))
	return binary.BigEndian.Uint64(sum[:8])
}

// byScore sorts items by the score of their workspace name for instance,
// highest first.
func byScore[T any](items []T, instance string, name func(T) string) {
	slices.SortFunc(items, func(a, b T) int {
		na, nb := name(a), name(b)
		return cmp.Or(cmp.Compare(score(nb, instance), score(na, instance)), strings.Compare(na, nb))
	})
}

func itself(s string) string { return s }

// quota is how many of n workspaces instance self should hold while the
// live instances (self among them) hold counts[id] each: n/k each, plus one
// for the n%k of them holding the most, ties by id, so that the quotas add
// up to n and a split that is already fair stays as it is.
func quota(self string, n int, live []string, counts map[string]int) int {
	if !slices.Contains(live, self) {
		live = append(slices.Clip(live), self)
	}
	order := slices.Clone(live)
	slices.SortFunc(order, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	q := n / len(order)
	if slices.Index(order, self) < n%len(order) {
		q++
	}
	return q
}
