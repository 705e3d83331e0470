package boltstate_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/connect-sync/connect-sync/internal/boltstate"
	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// BenchmarkIDs lists the ids of 100,000 tracked contacts, as an audit of
// a destination does every run: its share of a no-change poll's budget.
func BenchmarkIDs(b *testing.B) {
	db, err := boltstate.Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ws, err := db.Workspace(state.DefaultWorkspace)
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	for start := 0; start < n; start += 1000 {
		batch := make([]state.Detected, 0, 1000)
		for i := start; i < start+1000; i++ {
			c, err := contact.Parse(fmt.Appendf(nil, `{"id":%d}`, i))
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, state.Detected{Change: contact.Change{ID: fmt.Sprint("msg_", i), Kind: contact.Created, Contact: c}, Entry: &state.Entry{}})
		}
		if err := ws.Commit(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		ids, err := ws.IDs(b.Context())
		if err != nil || len(ids) != n {
			b.Fatalf("%d ids, %v", len(ids), err)
		}
	}
}
