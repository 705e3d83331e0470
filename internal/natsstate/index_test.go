package natsstate

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/state"
)

func TestWALRoundTrip(t *testing.T) {
	ops := []op{put("x.e.MQ", []byte{0, 1, 2}), del("c.0000000000000001"), put("s.MQ", nil), put("x.meta", []byte(`{}`))}
	got, err := decodeWAL(encodeWAL(ops))
	if err != nil || len(got) != len(ops) {
		t.Fatalf("decoded %v, %v", got, err)
	}
	for i := range ops {
		if got[i].key != ops[i].key || got[i].del != ops[i].del || !bytes.Equal(got[i].value, ops[i].value) {
			t.Errorf("op %d: %+v, want %+v", i, got[i], ops[i])
		}
	}
	for _, bad := range [][]byte{nil, []byte("csw0"), append(encodeWAL(ops), 9), encodeWAL(ops)[:20]} {
		if _, err := decodeWAL(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestCoalesceKeepsTheLastOpOfAKey(t *testing.T) {
	got := coalesce([]op{put("a", []byte("1")), put("b", nil), del("a"), put("c", nil), put("b", []byte("2"))})
	want := []op{del("a"), put("c", nil), put("b", []byte("2"))}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i].key != want[i].key || got[i].del != want[i].del || !bytes.Equal(got[i].value, want[i].value) {
			t.Errorf("op %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSeqSet(t *testing.T) {
	var s seqSet
	for seq := uint64(1); seq <= 200; seq++ {
		s.add(seq)
	}
	for seq := uint64(1); seq <= 150; seq++ {
		s.remove(seq)
	}
	s.add(7) // redelivered
	s.add(7)
	if got := s.after(0, 3); !slices.Equal(got, []uint64{7, 151, 152}) {
		t.Errorf("after(0, 3) = %v", got)
	}
	if got := s.after(198, 10); !slices.Equal(got, []uint64{199, 200}) {
		t.Errorf("after(198, 10) = %v", got)
	}
	if s.len() != 51 || len(s.all()) != 51 || !s.has(7) || s.has(8) {
		t.Errorf("len %d, all %d", s.len(), len(s.all()))
	}
}

// TestIndexKeys: every key the index writes reads back as written, and
// ids, names and fingerprints of any bytes make valid keys.
func TestIndexKeys(t *testing.T) {
	ix := newIndex()
	for _, id := range []string{"", "a.b", "ü/ *>", "1"} {
		if err := ix.apply(put(entryKey(id), state.Entry{LastActivityAt: id}.Encode())); err != nil {
			t.Fatal(err)
		}
		if err := ix.apply(put(memoKey(3, id), []byte(id))); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{entryKey(id), memoKey(3, id), snapshotKey(id), importKey(id), sinkKey(id)} {
			if !validKey(k) {
				t.Errorf("invalid key %q", k)
			}
		}
	}
	if e := ix.entries["ü/ *>"]; e.LastActivityAt != "ü/ *>" || len(ix.gens[3].memo) != 4 {
		t.Errorf("index %+v", ix)
	}
	if err := ix.apply(put("x.q.zz", []byte("[1]"))); err == nil {
		t.Error("a corrupt key was taken")
	}
}

func validKey(k string) bool {
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || bytes.ContainsRune([]byte("-/_=."), r)) {
			return false
		}
	}
	return k != "" && k[0] != '.' && k[len(k)-1] != '.'
}

// earlyWatch is a KeyWatcher that says every current value was delivered
// after the first n, then goes on delivering, as a watch whose pending
// count was wrong does.
type earlyWatch struct {
	jetstream.KeyWatcher
	updates chan jetstream.KeyValueEntry
}

func (w *earlyWatch) Updates() <-chan jetstream.KeyValueEntry { return w.updates }

func watchSignallingAfter(n int) func(context.Context, jetstream.KeyValue, string) (jetstream.KeyWatcher, error) {
	return func(ctx context.Context, kv jetstream.KeyValue, filter string) (jetstream.KeyWatcher, error) {
		inner, err := kv.Watch(ctx, filter)
		if err != nil {
			return nil, err
		}
		w := &earlyWatch{KeyWatcher: inner, updates: make(chan jetstream.KeyValueEntry)}
		go func() {
			defer close(w.updates)
			sent := 0
			for e := range inner.Updates() {
				if e == nil {
					continue // said already
				}
				select {
				case w.updates <- e:
				case <-ctx.Done():
					return
				}
				if sent++; sent == n {
					select {
					case w.updates <- nil:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
		return w, nil
	}
}

// TestAWatchSignallingEarlyLoadsTheWholeIndex makes the watch of the
// index say it delivered every value after only three, as one did while a
// cluster elected a new leader: opening reads on to the last message, and
// keeps everything, where a partial index would have counted a sink's
// queue as garbage and collected it.
func TestAWatchSignallingEarlyLoadsTheWholeIndex(t *testing.T) {
	_, js := newServer(t)
	db := openDB(t, js, Options{})
	crashSetup(t, openWorkspace(t, db, "acme"))
	before := dump(t, db, "acme")
	db.hooks.watch = watchSignallingAfter(3)

	w := openWorkspace(t, db, "acme")
	if n, err := w.Pending(t.Context(), "b"); err != nil || n != 5 {
		t.Errorf("b pending %d, %v; want 5", n, err)
	}
	if after := dump(t, db, "acme"); !maps.Equal(after, before) {
		t.Errorf("after the open:\n%v\nwant\n%v", after, before)
	}
	st, err := db.Status(context.Background(), "acme")
	if err != nil || len(st.Sinks) != 2 {
		t.Errorf("status of %d sinks, %v; want 2", len(st.Sinks), err)
	}
}
