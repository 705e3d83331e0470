package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/connect-sync/connect-sync/internal/backend"
	"github.com/connect-sync/connect-sync/internal/config"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
)

const demoConfig = `# Written by connect-sync demo. The API is a fake served on loopback
# for the length of the demo; point base_url and api_key at your workspace
# for real use (see config.example.yaml).
connect:
  base_url: %s
  api_key: %s
state:
  path: %s
sinks:
  - name: spreadsheet
    type: csv
    path: %s
  - name: cards
    type: vcard-dir
    path: %s
    version: "3.0"
`

var demoCommand = command{
	name:    "demo",
	summary: "run the whole pipeline against a built-in fake API",
	usage:   "connect-sync demo [--dir DIR] [--contacts N]",
	doc: `Serves a fake Connect API on loopback, syncs it to a CSV file and a vCard
folder, edits a few contacts at the source and syncs again. It replaces its own
files in DIR (config.yaml, connect-sync.db, contacts.csv, vcards/) and nothing
else.`,
	flags: func(fs *flag.FlagSet) action {
		f := &demoFlags{}
		fs.StringVar(&f.dir, "dir", "./connect-sync-demo", "write the demo's config, state and output in this `dir`, replacing an earlier demo's")
		fs.IntVar(&f.contacts, "contacts", 200, "the fake workspace has `n` contacts, at least 4")
		return func(ctx context.Context, _ []string, stdout, stderr io.Writer) error {
			return runDemo(ctx, f, stdout, stderr)
		}
	},
}

// demoFlags are demo's flags.
type demoFlags struct {
	dir      string
	contacts int
}

// runDemo runs the whole pipeline against the fake API on loopback: a full
// sync, a few edits at the source, and an incremental sync.
func runDemo(ctx context.Context, f *demoFlags, stdout, stderr io.Writer) error {
	if f.contacts < 4 {
		return usageError{err: errors.New("demo: --contacts must be at least 4")}
	}
	api := fakeconnect.New(fakeconnect.Options{Contacts: f.contacts, Seed: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api}
	go srv.Serve(ln)
	defer srv.Close()

	cfgPath, err := writeDemoConfig(f.dir, "http://"+ln.Addr().String())
	if err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	file, err := backend.OpenFile(cfg.State.Path)
	if err != nil {
		return err
	}
	defer file.Close()
	ws := &cfg.Workspaces[0]
	st, err := file.Workspace(ctx, ws.Name)
	if err != nil {
		return err
	}
	opts := runOptions(ws)
	run := workspaceRun{cfg: cfg, ws: ws, logger: logger}

	fmt.Fprintf(stdout, "fake Connect API with %d contacts on %s\n", f.contacts, ln.Addr())
	first, err := run.sync(ctx, st, opts, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "first sync: %d created -> %s and %s\n\n", first.Created, ws.Sinks[0].Config.Target(), ws.Sinks[1].Config.Target())

	edits, err := editDemoContacts(api)
	if err != nil {
		return err
	}
	for _, e := range edits {
		fmt.Fprintln(stdout, "at the source: "+e)
	}
	second, err := run.sync(ctx, st, opts, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nincremental sync: %d created, %d updated, %d deleted\n", second.Created, second.Updated, second.Deleted)
	for _, s := range second.Sinks {
		fmt.Fprintf(stdout, "  %s: %d delivered, %d pending\n", s.Name, s.Delivered, s.Pending)
	}
	fmt.Fprintf(stdout, "\nnext: look at the files, or run\n  connect-sync status --config %s\n", cfgPath)
	return nil
}

// writeDemoConfig writes the demo's config into dir, removing what an
// earlier demo left there (only the names the demo itself uses).
func writeDemoConfig(dir, baseURL string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	paths := map[string]string{}
	for _, name := range []string{"config.yaml", "connect-sync.db", "contacts.csv", "vcards"} {
		paths[name] = filepath.Join(dir, name)
		if err := os.RemoveAll(paths[name]); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	content := fmt.Sprintf(demoConfig, baseURL, fakeconnect.DefaultAPIKey, paths["connect-sync.db"], paths["contacts.csv"], paths["vcards"])
	return paths["config.yaml"], os.WriteFile(paths["config.yaml"], []byte(content), 0o600)
}

// editDemoContacts changes the fake workspace the way people do, and says
// what it did.
func editDemoContacts(api *fakeconnect.Server) ([]string, error) {
	ids := api.IDs()
	noted, quiet, gone := ids[0], ids[1], ids[2]
	err := errors.Join(
		api.Edit(noted, func(c map[string]any) { c["note"] = "Called on Monday.\nWants a quote, by Friday; CC: finance" }),
		api.Touch(noted),
		api.Edit(quiet, func(c map[string]any) { c["jobTitle"] = "Head of Purchasing" }),
		api.Delete(gone),
	)
	added := api.Add(map[string]any{"email": "new.lead@example.com", "firstName": "Noor", "lastName": "Haddad", "companyName": "Haddad & Co"})
	return []string{
		"contact " + noted + ": new note, lastActivityAt bumped",
		"contact " + quiet + ": job title changed without bumping lastActivityAt",
		"contact " + gone + ": deleted",
		"contact " + added + ": added",
	}, err
}
