package state

import (
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
)

func TestDeadLettersAndRedeliver(t *testing.T) {
	w := openWorkspace(t)
	w.RegisterSink("hook", SinkInfo{Type: "webhook"})
	if err := w.Commit([]Detected{change("1", contact.Created), change("2", contact.Created), change("3", contact.Created)}); err != nil {
		t.Fatal(err)
	}
	q, _ := w.Queue("hook", 0, 10)
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if err := w.Bury("hook", []Burial{{Seq: q[0].Seq, Error: "400 Bad Request", At: at}, {Seq: q[1].Seq, Error: "422", At: at}}); err != nil {
		t.Fatal(err)
	}
	w.Ack("hook", []uint64{q[2].Seq})
	w.UpdateSink("hook", func(info *SinkInfo) { info.Disabled = "410 Gone" })

	st, _ := w.Status()
	s := st.Sinks[0]
	if s.Pending != 0 || s.DeadLetters != 2 || s.Disabled != "410 Gone" || len(s.DeadLetterList) != 2 {
		t.Fatalf("status after burying two: %+v", s)
	}
	if l := s.DeadLetterList[0]; l.Event != "msg_1" || l.Contact != "1" || l.Kind != contact.Created || l.Error != "400 Bad Request" || !l.At.Equal(at) {
		t.Errorf("first dead letter %+v", l)
	}
	if n := countChanges(t, w); n != 2 {
		t.Errorf("%d change records, want the 2 dead letters' kept", n)
	}

	if _, err := w.Redeliver("hook", "msg_9"); err == nil {
		t.Error("redelivering an unknown event succeeded")
	}
	if n, err := w.Redeliver("hook", "msg_2"); err != nil || n != 1 {
		t.Fatalf("redeliver one: %d, %v", n, err)
	}
	if back, _ := w.Queue("hook", 0, 10); len(back) != 1 || back[0].Change.ID != "msg_2" || back[0].Seq != q[1].Seq {
		t.Errorf("queue after redelivering msg_2: %+v", back)
	}
	if n, _ := w.Redeliver("hook", ""); n != 1 {
		t.Errorf("redeliver all moved %d, want 1", n)
	}
	st, _ = w.Status()
	if s := st.Sinks[0]; s.Pending != 2 || s.DeadLetters != 0 || s.Disabled != "" {
		t.Errorf("status after redelivering all: %+v", s)
	}
	back, _ := w.Queue("hook", 0, 10)
	w.Ack("hook", []uint64{back[0].Seq, back[1].Seq})
	if n := countChanges(t, w); n != 0 {
		t.Errorf("%d change records left after every letter was delivered", n)
	}
}

func TestRedeliverCarriesTheContactAsItIsNow(t *testing.T) {
	w := openWorkspace(t)
	w.RegisterSink("hook", SinkInfo{Type: "webhook"})
	w.Commit([]Detected{change("1", contact.Created), change("2", contact.Created)})
	q, _ := w.Queue("hook", 0, 10)
	w.Bury("hook", []Burial{{Seq: q[0].Seq, Error: "422"}, {Seq: q[1].Seq, Error: "422"}})

	// Since then contact 1 was deleted and contact 2 changed.
	w.Commit([]Detected{change("1", contact.Deleted)})
	edited := change("2", contact.Updated)
	edited.Change.Contact.Raw = []byte(`{"id":"2","email":"new@example.com"}`)
	w.Commit([]Detected{edited})
	pending, _ := w.Queue("hook", 0, 10)
	w.Ack("hook", []uint64{pending[0].Seq, pending[1].Seq})

	w.Redeliver("hook", "")
	back, _ := w.Queue("hook", 0, 10)
	if len(back) != 2 || back[0].Change.Kind != contact.Deleted || back[0].Change.ID != "msg_1" {
		t.Fatalf("the letter of a contact deleted since: %+v", back)
	}
	if c := back[1].Change; c.Kind != contact.Created || c.Contact.Email != "new@example.com" || c.ID != "msg_2" {
		t.Errorf("the letter of a contact changed since: %+v, want its current snapshot", c)
	}
}

func TestDroppingASinkCollectsItsDeadLetters(t *testing.T) {
	w := openWorkspace(t)
	w.RegisterSink("hook", SinkInfo{Type: "webhook"})
	w.Commit([]Detected{change("1", contact.Created)})
	q, _ := w.Queue("hook", 0, 10)
	w.Bury("hook", []Burial{{Seq: q[0].Seq, Error: "422"}})
	w.DropSink("hook")
	if n := countChanges(t, w); n != 0 {
		t.Errorf("%d change records left after the sink with the dead letter was dropped", n)
	}
}
