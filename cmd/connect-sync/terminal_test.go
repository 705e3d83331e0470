package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/fakeconnect"
	"github.com/connect-sync/connect-sync/internal/state"
)

// hostile is contact data written to take over a terminal: an OSC title,
// a bell, ESC[8m that hides what follows, a C1 CSI (U+009B) and a bidi
// override.
const hostile = "\x1b]0;pwned\x07Eve\x1b[8m\u009b31m\u202egpj.exe"

// assertNoEscapes checks that none of the hostile bytes reached the output
// raw, and that each want (readable text such as "Zoë") did.
func assertNoEscapes(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, raw := range []string{"\x1b", "\x07", "\x9b", "\u202e"} {
		if strings.Contains(out, raw) {
			t.Errorf("%s: %q reached the terminal raw:\n%q", what, raw, out)
		}
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: %q missing:\n%s", what, w, out)
		}
	}
}

func TestImportEscapesForTheTerminal(t *testing.T) {
	w := newWorkspace(t, 0)
	input := w.write("people.csv", "email,firstName,lastName,\x1b[8mhidden\n"+
		"eve@example.com,"+hostile+",Raw \x9b31m,x\n"+
		"zoe@example.com,Zoë,日本語,\n"+
		"not an email\x1b[8m,"+hostile+",,\n")
	r := w.run(nil, "import", "--dry-run", input)
	assertNoEscapes(t, "import --dry-run", r.stdout+r.stderr,
		`Eve\x1b[8m\u009b31m\u202egpj.exe`, `Raw \x9b31m`, "Zoë 日本語 <zoe@example.com>", "dry run: 2 to create")
	w.api.Fail(fakeconnect.Fault{Endpoint: "POST /api/connect/contacts", Status: 400, Body: `{"error":"bad \u001b]0;pwned\u0007 \u009b31m"}`})
	r = w.run(nil, "import", "--report", w.path("report.csv"), input)
	if r.code != 1 {
		t.Errorf("import with a rejected and a failed record: exit %d", r.code)
	}
	assertNoEscapes(t, "import", r.stdout+r.stderr, "the Connect API answered 400: bad ")
}

func TestSyncDryRunEscapesForTheTerminal(t *testing.T) {
	w := newWorkspace(t, 2)
	w.mustRun("sync")
	w.api.Add(map[string]any{"id": "\x1b]0;pwned\x07", "email": "eve\x1b[8m@example.com\u202e", "firstName": hostile})
	w.api.Add(map[string]any{"email": "zoë@example.com", "firstName": "Zoë"})
	w.api.Edit(w.api.IDs()[0], func(c map[string]any) { c["\x1b[8m\u009b"] = "new field" })
	r := w.mustRun("sync", "--dry-run")
	assertNoEscapes(t, "sync --dry-run", r.stdout+r.stderr,
		`created \x1b]0;pwned\a eve\x1b[8m@example.com\u202e`, "zoë@example.com", `(\x1b[8m\u009b)`)
}

func TestCheckEscapesForTheTerminal(t *testing.T) {
	w := newWorkspace(t, 1)
	me := map[string]any{
		"details":   map[string]string{"name": hostile, "email": "zoë@example.com"},
		"workspace": map[string]string{"name": "Zoë " + hostile},
	}
	statuses := []map[string]any{{"id": 1, "type": "lead\x1b[8m", "label": hostile, "color": "#fff", "order": 1}}
	w.api.Fail(fakeconnect.Fault{Endpoint: "/api/connect/me", Body: mustJSON(t, me)})
	w.api.Fail(fakeconnect.Fault{Endpoint: "/api/connect/contacts/lead-statuses", Body: mustJSON(t, statuses)})
	r := w.mustRun("check")
	assertNoEscapes(t, "check", r.stdout+r.stderr, `workspace "Zoë \x1b]0;pwned\aEve`, "<zoë@example.com>", `lead\x1b[8m`)
}

// TestErrorsEscapeForTheTerminal has the API answer an error that quotes
// hostile text: the message the command exits with carries it without its
// control and format characters, which the client takes out of what it
// quotes of a server (secret.Redactor.Quote).
func TestErrorsEscapeForTheTerminal(t *testing.T) {
	w := newWorkspace(t, 1)
	w.api.Fail(fakeconnect.Fault{Endpoint: "/api/connect/contacts/lead-statuses", Status: 403, Body: mustJSON(t, map[string]string{"error": "Zoë " + hostile})})
	r := w.run(nil, "sync")
	if r.code != 1 {
		t.Errorf("sync against a failing API: exit %d", r.code)
	}
	assertNoEscapes(t, "sync", r.stderr, "the Connect API answered 403: Zoë ]0;pwnedEve[8m31mgpj.exe")
}

func TestStatusEscapesForTheTerminal(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	st := state.Status{
		LastRun: &state.Run{StartedAt: at, FinishedAt: at, Result: state.RunFailed, Error: "Zoë " + hostile},
		Sinks: []state.SinkStatus{{
			Name: "hook", Type: "webhook", LastError: "answered 400: " + hostile, Disabled: hostile,
			Failures:       []state.Failure{{Contact: hostile, Error: hostile}},
			DeadLetterList: []state.DeadLetter{{Event: "e1", Contact: "7\t" + hostile, Error: "answered\n400: " + hostile, At: at}},
			DeadLetters:    1,
		}},
	}
	var out bytes.Buffer
	printStatus(&out, st, false)
	assertNoEscapes(t, "status", out.String(), `error: Zoë \x1b]0;pwned\aEve`, `contact 7\t\x1b]0;pwned`, `answered\n400: `)
	if n := strings.Count(out.String(), "\n"); n != 9 {
		t.Errorf("%d lines, want 9: a value broke a line:\n%s", n, out.String())
	}
}

// TestLogsEscapeForTheTerminal checks that the text log format, on the
// terminal and in the journal, quotes what it is given.
func TestLogsEscapeForTheTerminal(t *testing.T) {
	text := func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) }
	for name, handler := range map[string]func(io.Writer) slog.Handler{
		"text":    func(w io.Writer) slog.Handler { return text(w, &slog.HandlerOptions{}) },
		"journal": func(w io.Writer) slog.Handler { return newJournalHandler(w, &slog.HandlerOptions{}, text) },
	} {
		var out bytes.Buffer
		logger := slog.New(handler(&out))
		logger.Warn("contact kept queued "+hostile, "contact", hostile, "error", fmt.Errorf("answered: %s", hostile), "name", "Zoë")
		assertNoEscapes(t, name, out.String(), `contact="\x1b]0;pwned\aEve`, "name=Zoë")
		if strings.Count(out.String(), "\n") != 1 {
			t.Errorf("%s: not one line: %q", name, out.String())
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
