package natsstate

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/state"
)

// contactJSON is a contact of about 700 bytes, as the API sends them.
func contactJSON(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"email":"%s@example.com","firstName":"Ada","lastName":"Lovelace","fullName":"Ada Lovelace",`+
		`"jobTitle":"Analyst","companyName":"Analytical Engines Ltd","phoneNumbers":[{"number":"+44 20 7946 0000","type":"work"}],`+
		`"leadStatus":{"id":"ls_1","label":"Customer"},"lastActivityAt":"2026-11-25T10:00:00Z","createdAt":"2024-01-01T00:00:00Z",`+
		`"linkedinUrl":"https://www.linkedin.com/in/ada","note":%q}`, id, id, strings.Repeat("n", 260))
}

// createdBatch is n contacts created, ids from first on.
func createdBatch(b testing.TB, first, n int) []state.Detected {
	batch := make([]state.Detected, n)
	for i := range batch {
		id := fmt.Sprintf("ct_%07d", first+i)
		c, err := contact.Parse(contactJSON(id))
		if err != nil {
			b.Fatal(err)
		}
		batch[i] = state.Detected{
			Change: contact.Change{ID: "msg_" + id, Kind: contact.Created, DetectedAt: at, Contact: c},
			Entry:  &state.Entry{Hash: [16]byte{1}, Raw: [16]byte{2}, LastActivityAt: "2026-11-25T10:00:00Z"},
		}
	}
	return batch
}

// BenchmarkCommit commits batches of 1,000 created contacts of about 700
// bytes, as the engine does, to a workspace with two sinks: entries,
// snapshots, records and queue entries, about 1.9 MB a batch.
func BenchmarkCommit(b *testing.B) {
	if n := len(contactJSON("ct_0000000")); n < 650 || n > 750 {
		b.Fatalf("contacts of %d bytes", n)
	}
	_, js := newServer(b)
	db := openDB(b, js, Options{})
	w := openWorkspace(b, db, "acme")
	ok(b, w.RegisterSink(b.Context(), "a", state.SinkInfo{Type: "csv"}))
	ok(b, w.RegisterSink(b.Context(), "b", state.SinkInfo{Type: "webhook"}))
	round := 0
	for b.Loop() {
		b.StopTimer()
		batch := createdBatch(b, round*1000, 1000)
		round++
		b.StartTimer()
		ok(b, w.Commit(b.Context(), batch))
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "contacts/s")
}

// BenchmarkLoad opens a workspace of 100,000 contacts, each with its
// snapshot in the bucket, and reads its checkpoint, as every run does
// first.
func BenchmarkLoad(b *testing.B) {
	const contacts = 100_000
	_, js := newServer(b)
	db := openDB(b, js, Options{})
	w := openWorkspace(b, db, "acme")
	for i := 0; i < contacts; i += 1000 {
		ok(b, w.Commit(b.Context(), createdBatch(b, i, 1000)))
	}
	for b.Loop() {
		w, err := db.Workspace(context.Background(), context.Background(), "acme")
		ok(b, err)
		cp, err := w.Checkpoint(b.Context())
		ok(b, err)
		if len(cp) != contacts {
			b.Fatalf("%d entries", len(cp))
		}
	}
	b.ReportMetric(float64(b.N*contacts)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkDeliveryRound is the state's part of delivering a page: read
// 500 changes from a sink's queue and acknowledge them.
func BenchmarkDeliveryRound(b *testing.B) {
	_, js := newServer(b)
	db := openDB(b, js, Options{})
	w := openWorkspace(b, db, "acme")
	ok(b, w.RegisterSink(b.Context(), "a", state.SinkInfo{Type: "csv"}))
	round := 0
	for b.Loop() {
		b.StopTimer()
		if n, _ := w.Pending(b.Context(), "a"); n < 500 {
			ok(b, w.Commit(b.Context(), createdBatch(b, round*1000, 1000)))
			round++
		}
		b.StartTimer()
		q, err := w.Queue(b.Context(), "a", 0, 500)
		ok(b, err)
		seqs := make([]uint64, len(q))
		for i, c := range q {
			seqs[i] = c.Seq
		}
		ok(b, w.Ack(b.Context(), "a", seqs))
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "changes/s")
}
