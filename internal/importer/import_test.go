package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/source"
	"github.com/connect-sync/connect-sync/internal/state"
)

// memLedger is a Ledger in memory; fail, when set, fails every write.
type memLedger struct {
	mu     sync.Mutex
	m      map[string]state.Import
	writes int
	fail   error
}

func (l *memLedger) ImportedContact(_ context.Context, fp string) (state.Import, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	imp, ok := l.m[fp]
	return imp, ok, nil
}

func (l *memLedger) write(fn func()) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.writes++
	fn()
	return nil
}

func (l *memLedger) BeginImports(_ context.Context, fps []string) error {
	return l.write(func() {
		for _, fp := range fps {
			l.m[fp] = state.Import{}
		}
	})
}

func (l *memLedger) RecordImport(_ context.Context, fp, id string) error {
	return l.write(func() { l.m[fp] = state.Import{ContactID: id} })
}

func (l *memLedger) AbandonImport(_ context.Context, fp string) error {
	return l.write(func() {
		if l.m[fp].Pending() {
			delete(l.m, fp)
		}
	})
}

// env is a fake workspace, an importer for it and a folder for input.
type env struct {
	t      testing.TB
	api    *fakeconnect.Server
	client *source.Client
	ledger *memLedger
	imp    *Importer
	dir    string
	waits  []time.Duration
}

func newEnv(t testing.TB, contacts int) *env {
	t.Helper()
	api := fakeconnect.New(fakeconnect.Options{Contacts: contacts, Seed: 3})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	client, err := source.New(source.Options{BaseURL: srv.URL, APIKey: secret.New(fakeconnect.DefaultAPIKey), MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, api: api, client: client, ledger: &memLedger{m: map[string]state.Import{}}, dir: t.TempDir()}
	e.imp = &Importer{API: client, Ledger: e.ledger, wait: func(_ context.Context, d time.Duration) error {
		e.waits = append(e.waits, d)
		return nil
	}}
	return e
}

func (e *env) file(name, content string) string {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func (e *env) run(opts Options) *Result {
	e.t.Helper()
	opts.Rounds = max(opts.Rounds, 2)
	res, err := e.imp.Run(context.Background(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) posts() int {
	n := 0
	for _, r := range e.api.Requests() {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

// contacts returns the workspace's contacts, parsed.
func (e *env) contacts() []contact.Contact {
	var list []contact.Contact
	for _, id := range e.api.IDs() {
		raw, _ := e.api.Contact(id)
		b, _ := json.Marshal(raw)
		c, err := contact.Parse(b)
		if err != nil {
			e.t.Fatal(err)
		}
		list = append(list, c)
	}
	return list
}

// outcomes is each record as "line outcome: reason", in input order.
func outcomes(res *Result) []string {
	var out []string
	for _, r := range res.Records {
		s := fmt.Sprintf("%d %s", r.Line, r.Outcome)
		if r.Reason != "" {
			s += ": " + r.Reason
		}
		out = append(out, s)
	}
	return out
}

func checkOutcomes(t *testing.T, res *Result, want ...string) {
	t.Helper()
	if got := outcomes(res); !slices.Equal(got, want) {
		t.Errorf("outcomes\n got %q\nwant %q", got, want)
	}
}

func TestImportRealWorldFiles(t *testing.T) {
	e := newEnv(t, 0)
	files := []string{"testdata/sink.csv", "testdata/google-3.0.vcf", "testdata/iphone-3.0.vcf",
		"testdata/outlook-2.1.vcf", "testdata/android-2.1.vcf", "testdata/nextcloud-4.0.vcf"}
	res := e.run(Options{Files: files, Concurrency: 3})
	if got := fmt.Sprint(res.Count(Created), res.Count(Rejected), len(res.Records)); got != "12 1 13" {
		t.Errorf("created, rejected, records: %s\n%q", got, outcomes(res))
	}
	rejected := res.Records[slices.IndexFunc(res.Records, func(r *Record) bool { return r.Outcome == Rejected })]
	if rejected.Location.String() != "testdata/outlook-2.1.vcf:20" || !strings.HasPrefix(rejected.Reason, "N: CHARSET=SHIFT_JIS is not supported") {
		t.Errorf("rejected %s: %s", rejected.Location, rejected.Reason)
	}
	if len(e.contacts()) != 12 || e.posts() != 12 {
		t.Errorf("%d contacts from %d POSTs, want 12", len(e.contacts()), e.posts())
	}
	// What the API received for one record, exactly.
	var ada string
	for _, r := range e.api.Requests() {
		if r.Method == http.MethodPost && strings.Contains(string(r.Body), "ada@example.com") {
			ada = string(r.Body)
		}
	}
	want := `{"companyName":"Analytical Engines Ltd","email":"ada@example.com","firstName":"Ada","jobTitle":"Programmer","lastName":"Lovelace","leadStatus":3,"linkedinUrl":"https://www.linkedin.com/in/ada-lovelace","note":"First programmer.\nLikes poetry, science; and numbers.","phoneNumbers":[{"number":"+44 20 7946 0018","type":"mobile"},{"number":"+44 20 7946 0019","type":"lab"}]}`
	if ada != want {
		t.Errorf("body sent for Ada\n got %s\nwant %s", ada, want)
	}
	for _, r := range res.Records {
		if r.Outcome == Created && (r.ContactID == "" || !slices.Contains(e.api.IDs(), r.ContactID)) {
			t.Errorf("%s: contact id %q", r.Location, r.ContactID)
		}
	}
}

func TestImportDuplicatesInTheWorkspace(t *testing.T) {
	input := "email,firstName\nann@EXAMPLE.com,Ann\nnew@example.com,New\n"
	for _, policy := range []Policy{Skip, Create} {
		t.Run(string(policy), func(t *testing.T) {
			e := newEnv(t, 5)
			existing := e.api.Add(map[string]any{"email": "Ann@Example.com", "firstName": "Ann"})
			res := e.run(Options{Files: []string{e.file("in.csv", input)}, OnDuplicate: policy})
			if policy == Skip {
				checkOutcomes(t, res, "2 skipped: the workspace has this email, as contact "+existing, "3 created")
				if res.Records[0].ContactID != existing {
					t.Errorf("skipped record names contact %q, want %s", res.Records[0].ContactID, existing)
				}
			} else {
				checkOutcomes(t, res, "2 created", "3 created")
			}
		})
	}
}

func TestImportDuplicatesInTheInput(t *testing.T) {
	input := "email,firstName,lastName\n" +
		"ann@example.com,Ann,A\n" +
		"ANN@example.com,Ann,B\n" + // same email, another person
		",Walk-in,\n" +
		",Walk-in,\n" + // same content, no email
		"ann@example.com,Ann,A\n" // same content
	tests := []struct {
		policy Policy
		want   []string
	}{
		{Skip, []string{"2 created", "3 skipped: duplicate of in.csv:2 (same email)", "4 created",
			"5 skipped: duplicate of in.csv:4 (same content)", "6 skipped: duplicate of in.csv:2 (same content)"}},
		{Create, []string{"2 created", "3 created", "4 created",
			"5 skipped: duplicate of in.csv:4 (same content)", "6 skipped: duplicate of in.csv:2 (same content)"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			e := newEnv(t, 0)
			path := e.file("in.csv", input)
			res := e.run(Options{Files: []string{path}, OnDuplicate: tt.policy})
			for _, r := range res.Records {
				r.Reason = strings.ReplaceAll(r.Reason, e.dir+"/", "")
			}
			checkOutcomes(t, res, tt.want...)
			if !res.Records[4].Duplicate || res.Records[1].Duplicate != (tt.policy == Skip) {
				t.Error("duplicates are not marked")
			}
		})
	}
}

func TestImportDryRunSendsAndWritesNothing(t *testing.T) {
	e := newEnv(t, 3)
	e.api.Add(map[string]any{"email": "old@example.com", "firstName": "Old"})
	path := e.file("in.csv", "email,firstName,leadStatus\nold@example.com,Old,\nnew@example.com,New,Contacted\nbad,Bad,\n")
	res := e.run(Options{Files: []string{path}, DryRun: true})
	checkOutcomes(t, res, "2 skipped: the workspace has this email, as contact 4", "3 to-create",
		`4 rejected: email: "bad" is not a valid email`)
	if res.Records[1].LeadStatus != "2" {
		t.Errorf("a dry run did not resolve the lead status: %q", res.Records[1].LeadStatus)
	}
	if e.posts() != 0 || e.ledger.writes != 0 {
		t.Errorf("a dry run sent %d POSTs and wrote the ledger %d times", e.posts(), e.ledger.writes)
	}
	if res.OK() {
		t.Error("a dry run with a rejected record is OK")
	}
}

func TestImportRecordsTheAPIsRefusal(t *testing.T) {
	e := newEnv(t, 0)
	e.api.Fail(fakeconnect.Fault{Endpoint: "POST /api/connect/contacts", Status: 400, Body: `{"error": "Invalid email"}`})
	res := e.run(Options{Files: []string{e.file("in.csv", "email\na@example.com\n")}})
	checkOutcomes(t, res, "2 rejected: the Connect API answered 400: Invalid email")
	if len(e.ledger.m) != 0 {
		t.Errorf("the ledger kept a refused create: %v", e.ledger.m)
	}
}

func TestImportRetries(t *testing.T) {
	post := "POST /api/connect/contacts"
	tests := []struct {
		name   string
		faults []fakeconnect.Fault
		want   string
		rounds int // pauses between rounds
	}{
		// The client retries what cannot have created a contact.
		{"rate limited", []fakeconnect.Fault{{Endpoint: post, Status: 429, RetryAfter: "1"}}, "2 created", 0},
		{"unavailable", []fakeconnect.Fault{{Endpoint: post, Status: 503, RetryAfter: "1"}}, "2 created", 0},
		// A 500 may have created it: the list is asked before sending again.
		{"server error", []fakeconnect.Fault{{Endpoint: post, Status: 500}}, "2 created", 1},
		{"bad gateway twice", []fakeconnect.Fault{{Endpoint: post, Status: 502}, {Endpoint: post, Status: 502}}, "2 created", 2},
		// The contact was created, but its answer was lost.
		{"cut answer", []fakeconnect.Fault{{Endpoint: post, Truncate: 5}}, "2 created: created although the API answered with an error", 1},
		{"persistent 500", slices.Repeat([]fakeconnect.Fault{{Endpoint: post, Status: 500}}, 3),
			"2 failed: source: create-contact: the Connect API answered 500: Internal Server Error; the contact may or may not exist: the next import of this record finds out, and creates it only if it does not", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 2)
			for _, f := range tt.faults {
				e.api.Fail(f)
			}
			files := []string{e.file("in.csv", "firstName,note\nRetry,no email\n")}
			res := e.run(Options{Files: files})
			checkOutcomes(t, res, tt.want)
			if len(e.waits) != tt.rounds {
				t.Errorf("%d pauses between rounds (%v), want %d", len(e.waits), e.waits, tt.rounds)
			}
			created := len(e.contacts()) - 2
			if res.OK() && created != 1 || !res.OK() && created != 0 {
				t.Errorf("%d contacts created", created)
			}
			if !res.OK() {
				fp := res.Records[0].fingerprint
				if imp, ok := e.ledger.m[fp]; !ok || !imp.Pending() {
					t.Fatalf("an uncertain create is not pending in the ledger: %+v", e.ledger.m)
				}
				res = e.run(Options{Files: files})
				checkOutcomes(t, res, "2 created")
				if len(e.contacts()) != 3 {
					t.Errorf("%d contacts after the second run, want 3", len(e.contacts()))
				}
			}
		})
	}
}
