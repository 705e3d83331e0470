package importer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
	"github.com/connect-sync/connect-sync/internal/source"
)

const mixed = "email,firstName,lastName\n" +
	"a@example.com,Ann,A\n" +
	",Walk-in,One\n" +
	"b@example.com,Bob,B\n" +
	",Walk-in,Two\n"

func TestImportAgainCreatesNoDuplicates(t *testing.T) {
	e := newEnv(t, 3)
	files := []string{e.file("in.csv", mixed)}
	first := e.run(Options{Files: files})
	checkOutcomes(t, first, "2 created", "3 created", "4 created", "5 created")

	for _, policy := range []Policy{Skip, Create} {
		again := e.run(Options{Files: files, OnDuplicate: policy})
		var want []string
		for _, r := range first.Records {
			want = append(want, "imported by an earlier run as contact "+r.ContactID)
		}
		for i, r := range again.Records {
			if r.Outcome != Skipped || r.Reason != want[i] || r.ContactID != first.Records[i].ContactID {
				t.Errorf("%s, record %d: %s: %s", policy, i+1, r.Outcome, r.Reason)
			}
		}
	}
	if n := len(e.contacts()); n != 7 {
		t.Errorf("%d contacts, want 7", n)
	}

	// A contact deleted in Connect since is created again, and until its
	// create is answered, the ledger has it pending, not as the old contact.
	e.api.Delete(first.Records[1].ContactID)
	fp := first.Records[1].fingerprint
	e.imp.API = &observingAPI{API: e.client, onCreate: func() {
		if imp, _, _ := e.ledger.ImportedContact(t.Context(), fp); !imp.Pending() {
			t.Errorf("while it is created again, the ledger has %+v", imp)
		}
	}}
	again := e.run(Options{Files: files})
	checkOutcomes(t, again,
		"2 skipped: imported by an earlier run as contact "+first.Records[0].ContactID,
		"3 created",
		"4 skipped: imported by an earlier run as contact "+first.Records[2].ContactID,
		"5 skipped: imported by an earlier run as contact "+first.Records[3].ContactID)
}

// TestImportSettlesAnInterruptedRun starts from what a run killed in the
// middle leaves: every create pending in the ledger, some of them made.
func TestImportSettlesAnInterruptedRun(t *testing.T) {
	e := newEnv(t, 3)
	files := []string{e.file("in.csv", mixed)}
	plan := e.run(Options{Files: files, DryRun: true})
	var prints []string
	for _, r := range plan.Records {
		prints = append(prints, r.fingerprint)
	}
	e.ledger.BeginImports(t.Context(), prints)
	// The killed run had created the first two.
	var made []string
	for _, r := range plan.Records[:2] {
		c, err := e.client.CreateContact(context.Background(), r.Body())
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, c.ID)
	}

	dry := e.run(Options{Files: files, DryRun: true})
	checkOutcomes(t, dry,
		"2 skipped: created as contact "+made[0]+" by an earlier run that did not learn it",
		"3 skipped: created as contact "+made[1]+" by an earlier run that did not learn it",
		"4 to-create", "5 to-create")

	res := e.run(Options{Files: files})
	checkOutcomes(t, res,
		"2 skipped: created as contact "+made[0]+" by an earlier run that did not learn it",
		"3 skipped: created as contact "+made[1]+" by an earlier run that did not learn it",
		"4 created", "5 created")
	if n := len(e.contacts()); n != 7 {
		t.Errorf("%d contacts, want 7", n)
	}
	for i, r := range res.Records {
		if imp := e.ledger.m[r.fingerprint]; imp.Pending() {
			t.Errorf("record %d is still pending", i+1)
		}
	}
}

// observingAPI calls onCreate before each create.
type observingAPI struct {
	API
	onCreate func()
}

func (o *observingAPI) CreateContact(ctx context.Context, fields map[string]any) (contact.Contact, error) {
	o.onCreate()
	return o.API.CreateContact(ctx, fields)
}

// slowAPI holds every create for a moment and counts those in flight.
type slowAPI struct {
	API
	mu             sync.Mutex
	inFlight, most int
}

func (s *slowAPI) CreateContact(ctx context.Context, fields map[string]any) (contact.Contact, error) {
	s.mu.Lock()
	s.inFlight++
	s.most = max(s.most, s.inFlight)
	s.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	return s.API.CreateContact(ctx, fields)
}

func TestImportConcurrencyIsBounded(t *testing.T) {
	var input strings.Builder
	input.WriteString("firstName\n")
	for i := range 20 {
		input.WriteString("Person " + string(rune('A'+i)) + "\n")
	}
	for _, n := range []int{1, 3} {
		e := newEnv(t, 0)
		api := &slowAPI{API: e.client}
		e.imp.API = api
		res := e.run(Options{Files: []string{e.file("in.csv", input.String())}, Concurrency: n})
		if res.Count(Created) != 20 || api.most != n {
			t.Errorf("concurrency %d: %d created, at most %d in flight", n, res.Count(Created), api.most)
		}
	}
}

func TestImportStopsOnFatalErrors(t *testing.T) {
	t.Run("API key refused", func(t *testing.T) {
		e := newEnv(t, 0)
		e.api.Fail(fakeconnect.Fault{Endpoint: "POST /api/connect/contacts", Status: 401})
		res, err := e.imp.Run(context.Background(), Options{Files: []string{e.file("in.csv", mixed)}})
		if !errors.Is(err, source.ErrUnauthorized) {
			t.Fatalf("err = %v", err)
		}
		if res.Count(Failed) != 4 || e.posts() != 1 {
			t.Errorf("%d failed after %d POSTs: %q", res.Count(Failed), e.posts(), outcomes(res))
		}
		if r := res.Records[3]; !strings.HasPrefix(r.Reason, "not sent: source: create-contact: the Connect API rejected the API key") {
			t.Errorf("a record not sent says %q", r.Reason)
		}
	})
	t.Run("state file not writable", func(t *testing.T) {
		e := newEnv(t, 0)
		e.ledger.fail = errors.New("disk full")
		res, err := e.imp.Run(context.Background(), Options{Files: []string{e.file("in.csv", mixed)}})
		if err == nil || !strings.Contains(err.Error(), "disk full") || e.posts() != 0 {
			t.Fatalf("err = %v after %d POSTs", err, e.posts())
		}
		checkOutcomes(t, res, "2 failed: not sent: disk full", "3 failed: not sent: disk full", "4 failed: not sent: disk full", "5 failed: not sent: disk full")
	})
	t.Run("cancelled", func(t *testing.T) {
		e := newEnv(t, 0)
		ctx, cancel := context.WithCancel(context.Background())
		e.imp.API = &cancellingAPI{API: e.client, cancel: cancel}
		res, err := e.imp.Run(ctx, Options{Files: []string{e.file("in.csv", mixed)}})
		if !errors.Is(err, context.Canceled) || res.Count(Created) != 1 || res.Count(Failed) != 3 {
			t.Fatalf("err = %v, %q", err, outcomes(res))
		}
	})
}

// cancellingAPI cancels the import once the first create is made.
type cancellingAPI struct {
	API
	cancel context.CancelFunc
}

func (c *cancellingAPI) CreateContact(ctx context.Context, fields map[string]any) (contact.Contact, error) {
	defer c.cancel()
	return c.API.CreateContact(ctx, fields)
}

func TestImportBadOptionsAndFiles(t *testing.T) {
	e := newEnv(t, 0)
	good := e.file("good.csv", "email\na@example.com\n")
	tests := []struct {
		name     string
		opts     Options
		want     string
		argument bool
	}{
		{"unknown lead status", Options{Files: []string{good}, LeadStatus: "Cold"}, `--lead-status: "Cold" is not a lead status of the workspace`, true},
		{"policy", Options{Files: []string{good}, OnDuplicate: "merge"}, `--on-duplicate: "merge" is not skip or create`, true},
		{"missing file", Options{Files: []string{good, e.dir + "/missing.csv"}}, "no such file or directory", true},
		{"broken file", Options{Files: []string{good, e.file("broken.csv", "email,Email\n")}}, `columns "email" and "Email" both map to email`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.imp.Run(context.Background(), tt.opts)
			var argErr *ArgumentError
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.As(err, &argErr) != tt.argument || res != nil {
				t.Errorf("err = %v (result %v), want %q", err, res, tt.want)
			}
			if e.posts() != 0 {
				t.Error("something was sent")
			}
		})
	}
}
