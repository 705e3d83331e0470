package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/event"
	"github.com/connect-sync/connect-sync/internal/event/eventtest"
	"github.com/connect-sync/connect-sync/internal/natstest"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

func deliverAll(t *testing.T, s *Sink, batch []contact.Change) {
	t.Helper()
	for i, err := range s.Deliver(t.Context(), batch) {
		if err != nil {
			t.Fatalf("change %d (%s): %v", i, batch[i].ID, err)
		}
	}
}

// assertStream checks that the stream holds each change exactly once, in
// order, on its subject, with its id in Nats-Msg-Id and the webhook
// sink's body for it, which names the subject's workspace token.
func assertStream(t *testing.T, msgs []*jetstream.RawStreamMsg, subjectBase string, want []contact.Change) {
	t.Helper()
	if len(msgs) != len(want) {
		t.Fatalf("the stream holds %d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		ch := want[i]
		if subject := subjectBase + string(ch.Kind); m.Subject != subject {
			t.Errorf("message %d: subject %s, want %s", i, m.Subject, subject)
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != ch.ID {
			t.Errorf("message %d: Nats-Msg-Id %q, want %q", i, id, ch.ID)
		}
		var got, wantEv event.Event
		if err := json.Unmarshal(m.Data, &got); err != nil {
			t.Fatalf("message %d: %v: %s", i, err, m.Data)
		}
		// The subject ends "<workspace>.contact.<kind>".
		tokens := strings.Split(m.Subject, ".")
		workspace := tokens[len(tokens)-3]
		if got.Workspace != workspace {
			t.Errorf("message %d: workspace %q, want the subject's %q", i, got.Workspace, workspace)
		}
		body, err := event.Encode(workspace, ch)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body, &wantEv); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, wantEv) {
			t.Errorf("message %d:\n got %s\nwant %s", i, m.Data, body)
		}
		if string(m.Data) != string(body) {
			t.Errorf("message %d: the body is not the webhook sink's, byte for byte", i)
		}
	}
}

// Every change is published once, in order, with its subject, id and
// body, into a stream created with the config's settings.
func TestPublish(t *testing.T) {
	srv := natstest.Start(t)
	s, logs := open(t, []string{srv.URL}, func(c *Config) {
		c.Stream, c.SubjectPrefix, c.Workspace = "EVENTS", "acme.crm", "sales"
		c.MaxAge, c.DuplicateWindow = 48*time.Hour, time.Hour
		c.Concurrency = 7 // smaller than a batch: the window slides
	})
	batch := eventtest.Changes(t, 50, contact.Created, contact.Updated, contact.Deleted)
	deliverAll(t, s, batch[:20])
	deliverAll(t, s, batch[20:])
	js := natstest.Connect(t, srv.URL)
	assertStream(t, natstest.Messages(t, js, "EVENTS"), "acme.crm.sales.contact.", batch)

	stream, err := js.Stream(t.Context(), "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	if !reflect.DeepEqual(cfg.Subjects, []string{"acme.crm.>"}) || cfg.Replicas != 1 ||
		cfg.MaxAge != 48*time.Hour || cfg.Duplicates != time.Hour || cfg.Storage != jetstream.FileStorage {
		t.Errorf("stream config: subjects %v, replicas %d, max_age %v, duplicate_window %v, storage %v",
			cfg.Subjects, cfg.Replicas, cfg.MaxAge, cfg.Duplicates, cfg.Storage)
	}
	if !strings.Contains(logs.String(), "created the stream") {
		t.Errorf("stream creation not logged:\n%s", logs)
	}
}

// A change published again, as after a crash between the publish and the
// acknowledgement record, is acknowledged and the stream keeps one copy.
// So does a second sink on an existing stream, which it leaves as it is.
func TestRedeliveryKeepsOneCopy(t *testing.T) {
	srv := natstest.Start(t)
	batch := eventtest.Changes(t, 30, contact.Created, contact.Updated, contact.Deleted)
	first, _ := open(t, []string{srv.URL}, func(c *Config) { c.DuplicateWindow = time.Hour })
	deliverAll(t, first, batch[:20])
	first.Close()

	second, logs := open(t, []string{srv.URL}, nil)
	deliverAll(t, second, batch) // the first 20 again, then 10 new
	deliverAll(t, second, batch[5:10])
	js := natstest.Connect(t, srv.URL)
	assertStream(t, natstest.Messages(t, js, "CONNECT"), "connect.default.contact.", batch)
	if !strings.Contains(logs.String(), "duplicate window is shorter than the config's") {
		t.Errorf("the shorter duplicate window is not logged:\n%s", logs)
	}
}

// With the server down the sink stops with ErrUnavailable and a message
// naming the servers; the same sink publishes everything once the server
// is back.
func TestServerDown(t *testing.T) {
	srv := natstest.Start(t)
	srv.Stop()
	s, _ := open(t, []string{srv.URL}, nil)
	batch := eventtest.Changes(t, 10, contact.Created, contact.Updated, contact.Deleted)
	for i, err := range s.Deliver(t.Context(), batch) {
		if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(fmt.Sprint(err), strings.TrimPrefix(srv.URL, "nats://")) {
			t.Fatalf("change %d: %v, want ErrUnavailable naming the server", i, err)
		}
	}
	srv.Restart(t)
	natstest.WaitJetStream(t, srv.URL)
	deliverAll(t, s, batch)
	assertStream(t, natstest.Messages(t, natstest.Connect(t, srv.URL), "CONNECT"), "connect.default.contact.", batch)
}

// A server that dies between two batches: the next batch fails as a
// whole with ErrUnavailable, nothing is counted as delivered that was
// not stored, and a new run publishes the rest.
func TestServerDiesMidRun(t *testing.T) {
	srv := natstest.Start(t)
	s, _ := open(t, []string{srv.URL}, func(c *Config) { c.Timeout = time.Second })
	batch := eventtest.Changes(t, 20, contact.Created, contact.Updated, contact.Deleted)
	deliverAll(t, s, batch[:10])
	srv.Stop()
	for i, err := range s.Deliver(t.Context(), batch[10:]) {
		if !errors.Is(err, sinks.ErrUnavailable) {
			t.Fatalf("change %d: %v, want ErrUnavailable", i, err)
		}
	}
	s.Close()
	srv.Restart(t)
	natstest.WaitJetStream(t, srv.URL)
	next, _ := open(t, []string{srv.URL}, nil)
	deliverAll(t, next, batch[10:])
	assertStream(t, natstest.Messages(t, natstest.Connect(t, srv.URL), "CONNECT"), "connect.default.contact.", batch)
}

// A message larger than the stream takes is refused for good and the
// rest of the batch goes on.
func TestTooLarge(t *testing.T) {
	srv := natstest.Start(t)
	js := natstest.Connect(t, srv.URL)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{
		Name: "CONNECT", Subjects: []string{"connect.>"}, MaxMsgSize: 2048, Duplicates: time.Hour,
	}); err != nil {
		t.Fatal(err)
	}
	s, _ := open(t, []string{srv.URL}, nil)
	batch := eventtest.Changes(t, 3, contact.Created, contact.Updated, contact.Deleted)
	big := eventtest.Parse(t, fmt.Sprintf(`{"id":2,"note":%q}`, strings.Repeat("x", 4096)))
	batch[1].Contact = big
	errs := s.Deliver(t.Context(), batch)
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], sinks.ErrPermanent) {
		t.Fatalf("errors %v, want only the second to wrap ErrPermanent", errs)
	}
	assertStream(t, natstest.Messages(t, js, "CONNECT"), "connect.default.contact.", []contact.Change{batch[0], batch[2]})
}

// The credentials and a publish the server does not permit: a wrong
// password and a permissions violation stop the sink for the run, saying
// why; the right user publishes.
func TestAuthAndPermissions(t *testing.T) {
	srv := natstest.Start(t, `authorization {
  users: [
    {user: writer, password: "pw-writer-123"}
    {user: reader, password: "pw-reader-123", permissions: {publish: {deny: ["connect.>"]}}}
  ]
}
`)
	batch := eventtest.Changes(t, 20, contact.Created, contact.Updated, contact.Deleted)
	wrong, _ := open(t, []string{srv.URL}, func(c *Config) { c.User, c.Password = "writer", secret.New("nope") })
	for _, err := range wrong.Deliver(t.Context(), batch) {
		if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), "uthorization") {
			t.Fatalf("wrong password: %v", err)
		}
		if strings.Contains(err.Error(), "nope") {
			t.Fatalf("the password is in the error: %v", err)
		}
	}
	writer, _ := open(t, []string{srv.URL}, func(c *Config) { c.User, c.Password = "writer", secret.New("pw-writer-123") })
	deliverAll(t, writer, batch[:1])

	reader, readerLogs := open(t, []string{srv.URL}, func(c *Config) {
		c.User, c.Password, c.Timeout = "reader", secret.New("pw-reader-123"), time.Second
	})
	errs := reader.Deliver(t.Context(), batch[1:])
	for _, err := range errs {
		if !errors.Is(err, sinks.ErrUnavailable) {
			t.Fatalf("permission violation: %v, want ErrUnavailable", err)
		}
	}
	if !strings.Contains(errs[0].Error(), "ermissions") {
		t.Errorf("the error does not name the permissions violation: %v", errs[0])
	}
	if n := strings.Count(readerLogs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for %d refused publishes, want 1:\n%s", n, len(errs), readerLogs)
	}

	// The violation explains that Deliver's publishes, not the next one's.
	srv.Stop()
	for _, err := range reader.Deliver(t.Context(), batch[1:]) {
		if !errors.Is(err, sinks.ErrUnavailable) || strings.Contains(err.Error(), "ermissions") {
			t.Fatalf("with the server down: %v, want ErrUnavailable without the earlier violation", err)
		}
	}
}

// Check proves the server and JetStream answer, and fails with
// ErrUnavailable when they do not; it creates nothing.
func TestCheck(t *testing.T) {
	srv := natstest.Start(t)
	s, _ := open(t, []string{srv.URL}, nil)
	if err := s.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	js := natstest.Connect(t, srv.URL)
	if _, err := js.Stream(t.Context(), "CONNECT"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("check created the stream: %v", err)
	}
	srv.Stop()
	if err := s.Check(t.Context()); !errors.Is(err, sinks.ErrUnavailable) {
		t.Errorf("check with the server down: %v", err)
	}
}

// An existing stream is used as it is, with a warning for what weakens
// the config's guarantees; one that does not take the sink's subjects is
// an error naming it and its subjects, for Check and Deliver alike.
func TestExistingStream(t *testing.T) {
	srv := natstest.Start(t)
	js := natstest.Connect(t, srv.URL)
	tests := []struct {
		name   string
		stream jetstream.StreamConfig
		err    string // "" for a stream that is used
		warn   string // a warning logged, "" for none
	}{
		{"as the sink creates it", jetstream.StreamConfig{Subjects: []string{"s1.>"}, Duplicates: 24 * time.Hour}, "", ""},
		{"longer window, other replicas and age", jetstream.StreamConfig{Subjects: []string{"s2.default.contact.*"}, Duplicates: 48 * time.Hour, MaxAge: 72 * time.Hour}, "", ""},
		{"subjects one by one", jetstream.StreamConfig{Subjects: []string{"s3.*.contact.created", "s3.default.contact.updated", "s3.default.*.deleted"}, Duplicates: 24 * time.Hour}, "", ""},
		{"memory", jetstream.StreamConfig{Subjects: []string{"s4.>"}, Storage: jetstream.MemoryStorage, Duplicates: 24 * time.Hour}, "", "keeps its events in memory"},
		{"short window", jetstream.StreamConfig{Subjects: []string{"s5.>"}, Duplicates: time.Minute}, "", "duplicate window is shorter"},
		{"other subjects", jetstream.StreamConfig{Subjects: []string{"s6.other.>", "s6.default.contact.created"}, Duplicates: 24 * time.Hour},
			"stream S6 takes the subjects [s6.other.>, s6.default.contact.created], which do not cover s6.default.contact.*: ", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, prefix := fmt.Sprintf("S%d", i+1), fmt.Sprintf("s%d", i+1)
			tt.stream.Name = name
			if _, err := js.CreateStream(t.Context(), tt.stream); err != nil {
				t.Fatal(err)
			}
			s, logs := open(t, []string{srv.URL}, func(c *Config) { c.Stream, c.SubjectPrefix = name, prefix })
			batch := eventtest.Changes(t, 3, contact.Created, contact.Updated, contact.Deleted)
			checkErr, errs := s.Check(t.Context()), s.Deliver(t.Context(), batch)
			if tt.err == "" {
				if checkErr != nil {
					t.Errorf("Check: %v", checkErr)
				}
				for _, err := range errs {
					if err != nil {
						t.Fatalf("Deliver: %v", err)
					}
				}
				assertStream(t, natstest.Messages(t, js, name), prefix+".default.contact.", batch)
			} else {
				for _, err := range append(errs, checkErr) {
					if !errors.Is(err, sinks.ErrUnavailable) || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("error %v, want ErrUnavailable saying %s", err, tt.err)
					}
				}
			}
			warnings := strings.Count(logs.String(), "level=WARN")
			if tt.warn == "" && warnings > 0 || tt.warn != "" && (warnings != 1 || !strings.Contains(logs.String(), tt.warn)) {
				t.Errorf("logs, want a warning only when the stream is weaker (%q):\n%s", tt.warn, logs)
			}
			if strings.Contains(logs.String(), "created the stream") {
				t.Errorf("an existing stream logged as created:\n%s", logs)
			}
		})
	}
}

// A publish expects the configured stream: when another stream has taken
// the subjects (the stream replaced while the sink is connected), the
// publishes fail with ErrUnavailable and nothing counts as delivered.
func TestPublishExpectsTheStream(t *testing.T) {
	srv := natstest.Start(t)
	s, _ := open(t, []string{srv.URL}, nil)
	batch := eventtest.Changes(t, 6, contact.Created, contact.Updated, contact.Deleted)
	deliverAll(t, s, batch[:3])

	js := natstest.Connect(t, srv.URL)
	if err := js.DeleteStream(t.Context(), "CONNECT"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"connect.>"}}); err != nil {
		t.Fatal(err)
	}
	for i, err := range s.Deliver(t.Context(), batch[3:]) {
		if !errors.Is(err, sinks.ErrUnavailable) {
			t.Fatalf("change %d: %v, want ErrUnavailable", i, err)
		}
	}
	if msgs := natstest.Messages(t, js, "OTHER"); len(msgs) != 0 {
		t.Errorf("the other stream stored %d events", len(msgs))
	}
}

// The connect is natsconn's, bounded there by the timeout and the context
// over every server (natsconn tests it); Deliver and Check give it the
// run's context, and its failure stops the sink with ErrUnavailable,
// naming the servers. The bound asserted is far above the expected time,
// yet below a connect that waits out the timeout.
func TestConnectBounded(t *testing.T) {
	const timeout = 20 * time.Second
	returns := func(t *testing.T, what string, call func() error) error {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			if !errors.Is(err, sinks.ErrUnavailable) {
				t.Errorf("%s: %v, want ErrUnavailable", what, err)
			}
			return err
		case <-time.After(timeout / 2):
			t.Fatalf("%s still connecting after %v", what, timeout/2)
			return nil
		}
	}
	t.Run("context", func(t *testing.T) {
		urls := natstest.Silent(t, 1)
		s, _ := open(t, urls, func(c *Config) { c.Timeout = timeout })
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		returns(t, "Deliver", func() error {
			return s.Deliver(ctx, eventtest.Changes(t, 2, contact.Created, contact.Updated, contact.Deleted))[0]
		})
		returns(t, "Check", func() error { return s.Check(ctx) })
	})
	t.Run("timeout", func(t *testing.T) {
		urls := natstest.Silent(t, 2)
		s, _ := open(t, urls, func(c *Config) { c.Timeout = time.Second })
		err := returns(t, "Deliver", func() error {
			return s.Deliver(t.Context(), eventtest.Changes(t, 2, contact.Created, contact.Updated, contact.Deleted))[0]
		})
		want := "nats: connect to " + strings.Join(urls, ",") + ": destination unavailable: no server answered within 1s: context deadline exceeded"
		if err == nil || err.Error() != want {
			t.Errorf("Deliver: %v\nwant %s", err, want)
		}
	})
}
