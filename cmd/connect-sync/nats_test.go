package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/crashpoint"
	"github.com/connect-sync/connect-sync/internal/natstest"
)

func natsSink(url string) string {
	return fmt.Sprintf("  - name: bus\n    type: nats\n    urls: [%s]\n    timeout: 5s\n", url)
}

// streamIDs returns the Nats-Msg-Id of every message in the stream, in
// order.
func streamIDs(msgs []*jetstream.RawStreamMsg) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.Header.Get(jetstream.MsgIDHeader)
	}
	return ids
}

// streamEvents reads the stream as the crash receiver reads requests, so
// that history.assertDelivered can judge it; it fails the test for an id
// stored twice.
func streamEvents(t *testing.T, msgs []*jetstream.RawStreamMsg) *crashReceiver {
	t.Helper()
	rec := &crashReceiver{t: t, bodies: map[string][]byte{}, counts: map[string]int{}}
	for _, m := range msgs {
		id := m.Header.Get(jetstream.MsgIDHeader)
		var e struct {
			Type, Workspace string
			Data            struct{ Contact map[string]any }
		}
		d := json.NewDecoder(bytes.NewReader(m.Data))
		d.UseNumber()
		if err := d.Decode(&e); err != nil {
			t.Errorf("message %s: %v", id, err)
		}
		if want := "connect.default." + e.Type; m.Subject != want || e.Workspace != "default" {
			t.Errorf("message %s: subject %s, workspace %q, want %s, \"default\"", id, m.Subject, e.Workspace, want)
		}
		version := versionOf(e.Data.Contact)
		if e.Type == "contact.deleted" {
			version = deleted
		}
		rec.counts[id]++
		if rec.counts[id] > 1 {
			t.Errorf("the stream holds %s %d times", id, rec.counts[id])
			continue
		}
		rec.events = append(rec.events, hookEvent{id: id, kind: e.Type, contact: textOf(e.Data.Contact["id"]), version: version})
	}
	return rec
}

// TestNatsCrashAfterDeliver kills the real binary after JetStream
// acknowledged a batch and before the state file recorded it: the next run
// publishes those changes again, and the stream keeps exactly one copy of
// each, every version a finished run saw included, in order per contact.
func TestNatsCrashAfterDeliver(t *testing.T) {
	srv := natstest.Start(t)
	js := natstest.Connect(t, srv.URL)
	w := crashWorkspace(t, 30, func(*workspace) string { return natsSink(srv.URL) })
	hist := newHistory(w.api)
	w.mustRun("sync")
	hist.sawAll()
	before := len(natstest.Messages(t, js, "CONNECT"))

	ids := w.api.IDs()
	for _, id := range ids[:4] {
		hist.edit(id, true)
	}
	for _, id := range ids[4:6] {
		hist.delete(id)
	}
	hist.add()
	r := w.run([]string{crashpoint.EnvVar + "=after-deliver"}, "sync")
	if !r.killed {
		t.Fatalf("not killed at after-deliver: exit %d\n%s", r.code, r.stderr)
	}
	published := natstest.Messages(t, js, "CONNECT")[before:]
	if len(published) == 0 {
		t.Fatal("the killed run published nothing")
	}
	if pending := w.status().Sinks[0].Pending; pending < len(published) {
		t.Fatalf("%d pending after the kill, want at least the %d published", pending, len(published))
	}

	hist.edit(ids[0], false)
	hist.add()
	w.mustRun("sync")
	hist.sawAll()
	w.assertStateClean()
	msgs := natstest.Messages(t, js, "CONNECT")
	hist.assertDelivered(t, streamEvents(t, msgs))
	// The republished changes came back as duplicates, not new messages.
	got := streamIDs(msgs)[before:]
	for i, m := range published {
		if got[i] != m.Header.Get(jetstream.MsgIDHeader) {
			t.Fatalf("message %d after the kill is %s, want %s", before+i, got[i], m.Header.Get(jetstream.MsgIDHeader))
		}
	}
}

// TestNatsServerDown runs with the server down: the nats sink fails with
// an error naming it, the csv sink beside it is delivered, and once the
// server is back the backlog reaches the stream, each change once.
func TestNatsServerDown(t *testing.T) {
	srv := natstest.Start(t)
	srv.Stop()
	w := crashWorkspace(t, 20, func(w *workspace) string { return csvSink(w) + natsSink(srv.URL) })
	hist := newHistory(w.api)
	r := w.run(nil, "sync")
	hist.sawAll() // queued for the nats sink, so they must reach it
	if r.code != 1 || !strings.Contains(r.stderr, "sink=bus") || !strings.Contains(r.stderr, "destination unavailable") {
		t.Fatalf("sync with the server down: exit %d\n%s", r.code, r.stderr)
	}
	for _, s := range w.status().Sinks {
		switch {
		case s.Name == "spreadsheet" && (s.Pending != 0 || s.Delivered != 20):
			t.Errorf("csv sink: %d delivered, %d pending", s.Delivered, s.Pending)
		case s.Name == "bus" && (s.Pending != 20 || !strings.Contains(s.LastError, "connect to "+srv.URL)):
			t.Errorf("nats sink: %d pending, last error %q", s.Pending, s.LastError)
		}
	}
	srv.Restart(t)
	natstest.WaitJetStream(t, srv.URL)
	hist.delete(w.api.IDs()[0])
	w.mustRun("sync")
	hist.sawAll()
	w.assertStateClean()
	msgs := natstest.Messages(t, natstest.Connect(t, srv.URL), "CONNECT")
	if len(msgs) != 21 {
		t.Errorf("the stream holds %d messages, want 20 creations and a deletion", len(msgs))
	}
	hist.assertDelivered(t, streamEvents(t, msgs))
	t.Logf("stderr of the run with the server down:\n%s", r.stderr)
}
