package state

import (
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
)

func TestDeadLettersAndRedeliver(t *testing.T) {
	db, _ := openTemp(t)
	db.RegisterSink("hook", SinkInfo{Type: "webhook"})
	if err := db.Commit([]Detected{change("1", contact.Created), change("2", contact.Created), change("3", contact.Created)}); err != nil {
		t.Fatal(err)
	}
	q, _ := db.Queue("hook", 0, 10)
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if err := db.Bury("hook", []Burial{{Seq: q[0].Seq, Error: "400 Bad Request", At: at}, {Seq: q[1].Seq, Error: "422", At: at}}); err != nil {
		t.Fatal(err)
	}
	db.Ack("hook", []uint64{q[2].Seq})
	db.UpdateSink("hook", func(info *SinkInfo) { info.Disabled = "410 Gone" })

	st, _ := db.Status()
	s := st.Sinks[0]
	if s.Pending != 0 || s.DeadLetters != 2 || s.Disabled != "410 Gone" || len(s.DeadLetterList) != 2 {
		t.Fatalf("status after burying two: %+v", s)
	}
	if l := s.DeadLetterList[0]; l.Event != "msg_1" || l.Contact != "1" || l.Kind != contact.Created || l.Error != "400 Bad Request" || !l.At.Equal(at) {
		t.Errorf("first dead letter %+v", l)
	}
	if n := countChanges(t, db); n != 2 {
		t.Errorf("%d change records, want the 2 dead letters' kept", n)
	}

	if _, err := db.Redeliver("hook", "msg_9"); err == nil {
		t.Error("redelivering an unknown event succeeded")
	}
	if n, err := db.Redeliver("hook", "msg_2"); err != nil || n != 1 {
		t.Fatalf("redeliver one: %d, %v", n, err)
	}
	if back, _ := db.Queue("hook", 0, 10); len(back) != 1 || back[0].Change.ID != "msg_2" || back[0].Seq != q[1].Seq {
		t.Errorf("queue after redelivering msg_2: %+v", back)
	}
	if n, _ := db.Redeliver("hook", ""); n != 1 {
		t.Errorf("redeliver all moved %d, want 1", n)
	}
	st, _ = db.Status()
	if s := st.Sinks[0]; s.Pending != 2 || s.DeadLetters != 0 || s.Disabled != "" {
		t.Errorf("status after redelivering all: %+v", s)
	}
	back, _ := db.Queue("hook", 0, 10)
	db.Ack("hook", []uint64{back[0].Seq, back[1].Seq})
	if n := countChanges(t, db); n != 0 {
		t.Errorf("%d change records left after every letter was delivered", n)
	}
}

func TestRedeliverCarriesTheContactAsItIsNow(t *testing.T) {
	db, _ := openTemp(t)
	db.RegisterSink("hook", SinkInfo{Type: "webhook"})
	db.Commit([]Detected{change("1", contact.Created), change("2", contact.Created)})
	q, _ := db.Queue("hook", 0, 10)
	db.Bury("hook", []Burial{{Seq: q[0].Seq, Error: "422"}, {Seq: q[1].Seq, Error: "422"}})

	// Since then contact 1 was deleted and contact 2 changed.
	db.Commit([]Detected{change("1", contact.Deleted)})
	edited := change("2", contact.Updated)
	edited.Change.Contact.Raw = []byte(`{"id":"2","email":"new@example.com"}`)
	db.Commit([]Detected{edited})
	pending, _ := db.Queue("hook", 0, 10)
	db.Ack("hook", []uint64{pending[0].Seq, pending[1].Seq})

	db.Redeliver("hook", "")
	back, _ := db.Queue("hook", 0, 10)
	if len(back) != 2 || back[0].Change.Kind != contact.Deleted || back[0].Change.ID != "msg_1" {
		t.Fatalf("the letter of a contact deleted since: %+v", back)
	}
	if c := back[1].Change; c.Kind != contact.Created || c.Contact.Email != "new@example.com" || c.ID != "msg_2" {
		t.Errorf("the letter of a contact changed since: %+v, want its current snapshot", c)
	}
}

func TestDroppingASinkCollectsItsDeadLetters(t *testing.T) {
	db, _ := openTemp(t)
	db.RegisterSink("hook", SinkInfo{Type: "webhook"})
	db.Commit([]Detected{change("1", contact.Created)})
	q, _ := db.Queue("hook", 0, 10)
	db.Bury("hook", []Burial{{Seq: q[0].Seq, Error: "422"}})
	db.DropSink("hook")
	if n := countChanges(t, db); n != 0 {
		t.Errorf("%d change records left after the sink with the dead letter was dropped", n)
	}
}
