package lease

import (
	"fmt"
	"slices"
	"testing"
)

func TestQuota(t *testing.T) {
	for _, c := range []struct {
		self   string
		n      int
		live   []string
		counts map[string]int
		want   int
	}{
		{"a", 10, nil, nil, 10},                                                       // alone, even without its heartbeat yet
		{"a", 10, []string{"a"}, nil, 10},                                             // alone
		{"a", 10, []string{"b", "c"}, nil, 4},                                         // its heartbeat not listed yet: counted anyway
		{"c", 10, []string{"a", "b", "c"}, nil, 3},                                    // ties by id: a gets the extra
		{"a", 10, []string{"a", "b", "c"}, map[string]int{"c": 4, "a": 3, "b": 3}, 3}, // c holds the extra: it keeps it
		{"c", 10, []string{"a", "b", "c"}, map[string]int{"c": 4, "a": 3, "b": 3}, 4},
		{"a", 10, []string{"a", "b", "c"}, map[string]int{"a": 10}, 4}, // a held all: keeps the extra
		{"b", 10, []string{"a", "b", "c"}, map[string]int{"a": 10}, 3},
		{"b", 2, []string{"a", "b", "c"}, nil, 1},
		{"c", 2, []string{"a", "b", "c"}, nil, 0},
		{"a", 0, []string{"a", "b"}, nil, 0},
	} {
		if got := quota(c.self, c.n, c.live, c.counts); got != c.want {
			t.Errorf("quota(%s, %d, %v, %v) = %d, want %d", c.self, c.n, c.live, c.counts, got, c.want)
		}
	}
}

// The quotas of all live instances add up to the workspaces.
func TestQuotaSums(t *testing.T) {
	live := []string{"a", "b", "c", "d"}
	for n := range 20 {
		counts := map[string]int{"b": n / 2, "d": n / 3}
		sum := 0
		for _, id := range live {
			sum += quota(id, n, live, counts)
		}
		if sum != n {
			t.Errorf("%d workspaces: quotas add up to %d", n, sum)
		}
	}
}

// Each instance orders the workspaces its own way, and the first choices
// spread over the instances.
func TestByScore(t *testing.T) {
	names := workspaces(30)
	firsts := map[string]int{}
	for i := range 30 {
		id := fmt.Sprintf("instance-%d", i)
		order := slices.Clone(names)
		byScore(order, id, itself)
		again := slices.Clone(names)
		slices.Reverse(again)
		byScore(again, id, itself)
		if !slices.Equal(order, again) {
			t.Fatalf("%s: order depends on the input's", id)
		}
		firsts[order[0]]++
	}
	if len(firsts) < 10 {
		t.Errorf("30 instances' first choices fall on %d workspaces: %v", len(firsts), firsts)
	}
}
