package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/lease"
	"github.com/connect-sync/connect-sync/internal/natsconn"
	"github.com/connect-sync/connect-sync/internal/natsstate"
	"github.com/connect-sync/connect-sync/internal/sinks/csv"
	"github.com/connect-sync/connect-sync/internal/sinks/nats"
	"github.com/connect-sync/connect-sync/internal/sinks/vcarddir"
)

func TestLoadGood(t *testing.T) {
	t.Setenv("TEST_CONNECT_KEY", "sk_live_from_env")
	cfg, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := single(t, cfg)
	if got, _ := w.Connect.Key(); got.Reveal() != "sk_live_from_env" {
		t.Errorf("api key = %q", got.Reveal())
	}
	if w.Connect.BaseURL != "https://api.example.com/" || w.Connect.Query != "acme" || w.Connect.Timeout != 5*time.Second || w.Connect.MaxRetries != 2 {
		t.Errorf("connect = %+v", w.Connect)
	}
	if w.Sync.MaxDeleteFraction != 0.25 || cfg.State.Path != "/var/lib/connect-sync/state.db" {
		t.Errorf("sync = %+v, state = %+v", w.Sync, cfg.State)
	}
	c, ok := w.Sinks[0].Config.(*csv.Config)
	if !ok || c.Path != "./contacts.csv" || c.FormulaGuard {
		t.Errorf("csv sink = %#v", w.Sinks[0].Config)
	}
	v, ok := w.Sinks[1].Config.(*vcarddir.Config)
	if !ok || v.Path != "./vcards" || v.Version != "4.0" {
		t.Errorf("vcard-dir sink = %#v", w.Sinks[1].Config)
	}
}

// single returns the one workspace of a file without `workspaces:`.
func single(t *testing.T, cfg *Config) *Workspace {
	t.Helper()
	w, ok := cfg.Workspace(DefaultWorkspace)
	if !ok || len(cfg.Workspaces) != 1 {
		t.Fatalf("workspaces = %+v, want one named %q", cfg.Workspaces, DefaultWorkspace)
	}
	return w
}

func TestDefaults(t *testing.T) {
	cfg, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := single(t, cfg)
	if w.Connect.BaseURL != "https://api.skarbe.com" || w.Connect.Timeout != 60*time.Second || w.Connect.MaxRetries != 4 ||
		cfg.State.Path != "./connect-sync.db" || w.Sync.MaxDeleteFraction != 0.5 {
		t.Errorf("defaults: %+v, %+v", cfg, w)
	}
	if cfg.Schedule != "@every 5m" || !cfg.RunOnStart || cfg.ScheduleJitter != 0 || cfg.ShutdownTimeout != 30*time.Second || cfg.HTTP.Listen != "127.0.0.1:9464" {
		t.Errorf("daemon defaults: %+v", cfg)
	}
	if w.Schedule != cfg.Schedule || w.Cron != cfg.Cron {
		t.Errorf("the workspace's schedule is %q, not the top-level one", w.Schedule)
	}
	if c := w.Sinks[0].Config.(*csv.Config); !c.FormulaGuard {
		t.Error("the formula guard is off by default")
	}
	if cfg.State.Backend != BackendBbolt {
		t.Errorf("state.backend = %q", cfg.State.Backend)
	}
}

// The nats backend's settings: those the file leaves out have their
// defaults, which name the buckets natsstate and lease use by default; the
// bbolt path may stay beside them.
func TestStateNATS(t *testing.T) {
	cfg, err := Load("testdata/state-nats.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.State
	if s.Backend != BackendNATS || s.Path != "/var/lib/connect-sync/state.db" {
		t.Errorf("state = %+v", s)
	}
	n := s.NATS
	if !slices.Equal(n.URLs, []string{"nats://n1:4222", "nats://n2:4222", "nats://n3:4222"}) || n.CredsFile != "/etc/connect-sync/nats.creds" ||
		n.Timeout != natsconn.DefaultTimeout || n.Replicas != 1 || n.BucketPrefix != "connect_sync" || n.LeaseTTL != 15*time.Second || n.Instance != "" {
		t.Errorf("state.nats = %+v", n)
	}
	if n.StateBucket() != natsstate.DefaultBucket || n.LeaseBucket() != lease.DefaultBucket {
		t.Errorf("buckets %s and %s, want %s and %s", n.StateBucket(), n.LeaseBucket(), natsstate.DefaultBucket, lease.DefaultBucket)
	}

	cfg, err = Parse("config.yaml", []byte(`state:
  backend: nats
  nats:
    urls: [tls://n1:4222]
    user: alice
    password_file: /run/secrets/nats
    timeout: 5s
    replicas: 3
    bucket_prefix: acme-sync
    lease_ttl: 3s
    instance: node_1
sinks: [{name: a, type: csv, path: a.csv}]
`))
	if err != nil {
		t.Fatal(err)
	}
	n = cfg.State.NATS
	if n.User != "alice" || n.PasswordFile != "/run/secrets/nats" || n.Timeout != 5*time.Second || n.Replicas != 3 ||
		n.LeaseTTL != 3*time.Second || n.Instance != "node_1" || n.StateBucket() != "acme-sync_state" || n.LeaseBucket() != "acme-sync_leases" {
		t.Errorf("state.nats = %+v", n)
	}
}

// A workspace has its own connect block (over the connect defaults) and
// sinks; schedule and sync are the top-level ones but for what it sets.
func TestWorkspaces(t *testing.T) {
	t.Setenv("TEST_GLOBEX_KEY", "sk_live_globex")
	cfg, err := Load("testdata/workspaces.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Workspaces) != 2 || cfg.Workspaces[0].Name != "acme" || cfg.Workspaces[1].Name != "globex" {
		t.Fatalf("workspaces = %+v", cfg.Workspaces)
	}
	if _, ok := cfg.Workspace(DefaultWorkspace); ok {
		t.Error("a file with workspaces has a default workspace")
	}
	acme, _ := cfg.Workspace("acme")
	globex, _ := cfg.Workspace("globex")
	if c := acme.Connect; c.BaseURL != "https://api.skarbe.com" || c.APIKeyFile != "/etc/connect-sync/acme.key" || c.Query != "acme" || c.Timeout != 60*time.Second || c.MaxRetries != 4 {
		t.Errorf("acme's connect = %+v", acme.Connect)
	}
	if key, _ := globex.Connect.Key(); key.Reveal() != "sk_live_globex" || globex.Connect.BaseURL != "https://connect.example.com" || globex.Connect.Timeout != 5*time.Second || globex.Connect.MaxRetries != 4 {
		t.Errorf("globex's connect = %+v", globex.Connect)
	}
	if acme.Sync.MaxDeleteFraction != 0.1 || globex.Sync.MaxDeleteFraction != 0.25 {
		t.Errorf("sync: acme %+v, globex %+v", acme.Sync, globex.Sync)
	}
	from := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if acme.Schedule != "@every 2m" || acme.Cron.Next(from) != from.Add(2*time.Minute) {
		t.Errorf("acme's schedule = %q", acme.Schedule)
	}
	if globex.Schedule != "@every 5m" || globex.Cron != cfg.Cron {
		t.Errorf("globex's schedule = %q, not the top-level one", globex.Schedule)
	}
	for _, w := range []*Workspace{acme, globex} {
		s, ok := w.Sink("csv")
		if c, isCSV := s.Config.(*csv.Config); !ok || !isCSV || c.Path != "/srv/"+w.Name+"/contacts.csv" {
			t.Errorf("%s's csv sink = %+v", w.Name, s)
		}
		// The subjects are the workspace's.
		s, _ = w.Sink("bus")
		if got, want := s.Config.Target(), "nats:CONNECT/connect."+w.Name+".contact.*"; got != want {
			t.Errorf("%s's nats target = %s, want %s", w.Name, got, want)
		}
	}
	if _, ok := acme.Sink("nope"); ok {
		t.Error("Sink found a sink that is not there")
	}
}

// An anchored connect block serves several workspaces, ${ENV} expanded
// once for all.
func TestWorkspacesShareAnAnchor(t *testing.T) {
	t.Setenv("TEST_SHARED_KEY", "sk_live_shared")
	cfg, err := Load("testdata/workspaces-anchors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range cfg.Workspaces {
		if key, _ := w.Connect.Key(); key.Reveal() != "sk_live_shared" || w.Connect.BaseURL != "https://connect.example.com" || w.Connect.Timeout != 5*time.Second {
			t.Errorf("%s's connect = %+v", w.Name, w.Connect)
		}
	}
}

// An alias is checked as the type of the place it is used, not that of
// its anchor, and a sink reached through one has its settings.
func TestAliases(t *testing.T) {
	const sheet = "{name: a, type: csv, path: a.csv}"
	tests := []struct {
		name, yaml, want string
	}{
		{"a sync block as connect",
			"workspaces:\n  - name: a\n    sync: &s {max_delete_fraction: 0.2}\n    connect: *s\n    sinks: [" + sheet + "]\n",
			"config.yaml:3: workspaces[0].connect.max_delete_fraction: unknown key (known here: api_key, api_key_file, base_url, max_retries, query, timeout)"},
		{"a sink entry under an unknown key",
			"x: &s {name: a, type: csv, pathh: a.csv}\nsinks: [*s]\n",
			"config.yaml:1: x: unknown key (known here: connect, http, run_on_start, schedule, schedule_jitter, shutdown_timeout, sinks, state, sync, workspaces)\n" +
				"config.yaml:1: sinks[0].pathh: unknown key (known here: csv_formula_guard, name, on_drift, path, type)"},
		{"a whole workspace twice",
			"workspaces:\n  - &w\n    name: a\n    connect: {api_key_file: /run/secrets/a.key}\n    sinks: [" + sheet + "]\n  - *w\n",
			"config.yaml:6: workspaces[1].name: \"a\" is already the name of workspaces[0]\n" +
				"config.yaml:6: workspaces[1].sinks[0].path: the same file as workspaces[0].sinks[0]: two sinks writing one file would delete each other's contacts"},
		{"a list of sinks twice",
			"workspaces:\n  - name: a\n    connect: {api_key_file: /run/secrets/a.key}\n    sinks: &s [{name: hook, type: webhook, url: https://example.com/hook, secret_file: /s}]\n" +
				"  - name: b\n    connect: {api_key_file: /run/secrets/b.key}\n    sinks: *s\n",
			""},
		{"an alias of itself",
			"sinks: &s [*s]\n",
			"config.yaml:1: sinks: cannot unmarshal !!seq into config.sink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("config.yaml", []byte(tt.yaml))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error = %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("error = %v\nwant %s", err, tt.want)
			case err == nil:
				checkParsed(t, cfg)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // each a whole line of the error
	}{
		{"unknown-sink-type.yaml", []string{`testdata/unknown-sink-type.yaml:8: sinks[1].type: unknown sink type "csvv" (known: carddav, csv, nats, vcard-dir, webhook)`}},
		{"unknown-key.yaml", []string{`testdata/unknown-key.yaml:3: connect.base_ulr: unknown key (known here: api_key, api_key_file, base_url, max_retries, query, timeout)`}},
		{"unknown-sink-key.yaml", []string{`testdata/unknown-sink-key.yaml:4: sinks[0].pathh: unknown key (known here: csv_formula_guard, name, on_drift, path, type)`}},
		{"duplicate-name.yaml", []string{`testdata/duplicate-name.yaml:5: sinks[1].name: "out" is already the name of another sink`}},
		{"bad-values.yaml", []string{
			`testdata/bad-values.yaml:2: connect.base_url: must be an http or https URL, not "ftp://example.com"`,
			`testdata/bad-values.yaml:3: connect.timeout: must be positive`,
			`testdata/bad-values.yaml:4: connect.max_retries: must not be negative`,
			`testdata/bad-values.yaml:6: sync.max_delete_fraction: must be between 0 and 1, not 1.5`,
			`testdata/bad-values.yaml:11: sinks[0].version: must be "3.0" or "4.0", not "2.1"`,
		}},
		{"bad-duration.yaml", []string{"testdata/bad-duration.yaml:2: connect.timeout: cannot unmarshal !!str `soon` into time.Duration"}},
		{"unset-env.yaml", []string{`testdata/unset-env.yaml:2: connect.api_key: environment variable TEST_CONNECT_UNSET is not set`}},
		{"syntax.yaml", []string{`testdata/syntax.yaml:2: did not find expected key`}},
		{"no-sinks.yaml", []string{`testdata/no-sinks.yaml: sinks: at least one sink is required`}},
		{"both-keys.yaml", []string{`testdata/both-keys.yaml:3: connect.api_key_file: set connect.api_key or connect.api_key_file, not both`}},
		{"missing-name.yaml", []string{`testdata/missing-name.yaml:2: sinks[0].name: is required`}},
		{"long-jitter.yaml", []string{`testdata/long-jitter.yaml:2: schedule_jitter: 2m0s must be shorter than the time between runs (1m0s)`}},
		{"workspaces-and-single.yaml", []string{
			`testdata/workspaces-and-single.yaml:1: connect: cannot be set with workspaces: move it into each workspace`,
			`testdata/workspaces-and-single.yaml:11: sinks: cannot be set with workspaces: move it into each workspace`,
		}},
		{"workspace-unknown-key.yaml", []string{`testdata/workspace-unknown-key.yaml:3: workspaces[0].conect: unknown key (known here: connect, name, schedule, sinks, sync)`}},
		{"workspaces-empty.yaml", []string{`testdata/workspaces-empty.yaml:3: workspaces: is empty: list at least one workspace, or remove the key to use the top-level connect and sinks`}},
		{"workspace-names.yaml", []string{
			`testdata/workspace-names.yaml:2: workspaces[0].name: is required`,
			`testdata/workspace-names.yaml:4: workspaces[1].name: "acme.eu" is not a workspace name: 1 to 64 ASCII letters, digits, '_' or '-' (it becomes a NATS subject token, a state key and a metrics label)`,
			`testdata/workspace-names.yaml:10: workspaces[3].name: "acme" is already the name of workspaces[2]`,
			`testdata/workspace-names.yaml:13: workspaces[4].name: "a-name-of-sixty-five-characters-which-is-one-more-than-may-be-xyz" is not a workspace name: 1 to 64 ASCII letters, digits, '_' or '-' (it becomes a NATS subject token, a state key and a metrics label)`,
		}},
		{"workspace-bad-values.yaml", []string{
			`testdata/workspace-bad-values.yaml:2: sync.max_delete_fraction: must be between 0 and 1, not 2`,
			`testdata/workspace-bad-values.yaml:13: workspaces[1].connect.base_url: must be an http or https URL, not "ftp://example.com"`,
			`testdata/workspace-bad-values.yaml:15: workspaces[1].connect.api_key_file: set connect.api_key or connect.api_key_file, not both`,
			`testdata/workspace-bad-values.yaml:16: workspaces[1].connect.timeout: must be positive`,
			`testdata/workspace-bad-values.yaml:18: workspaces[1].sync.max_delete_fraction: must be between 0 and 1, not 1.5`,
			`testdata/workspace-bad-values.yaml:23: workspaces[1].sinks[0].version: must be "3.0" or "4.0", not "2.1"`,
			`testdata/workspace-bad-values.yaml:24: workspaces[1].sinks[1].name: "cards" is already the name of another sink`,
			`testdata/workspace-bad-values.yaml:25: workspaces[1].sinks[1].type: unknown sink type "vcarddir" (known: carddav, csv, nats, vcard-dir, webhook)`,
			`testdata/workspace-bad-values.yaml:26: workspaces[2].sinks: at least one sink is required`,
		}},
		{"workspace-schedule.yaml", []string{
			`testdata/workspace-schedule.yaml:6: workspaces[0].schedule: "*/5 * * *": expected exactly 5 fields, found 4: [*/5 * * *]`,
			`testdata/workspace-schedule.yaml:10: workspaces[1].schedule: "0 0 30 2 *" never fires`,
			`testdata/workspace-schedule.yaml:14: workspaces[2].schedule: schedule_jitter 2m0s must be shorter than the time between this workspace's runs (1m0s)`,
			`testdata/workspace-schedule.yaml:18: workspaces[3].schedule: "": empty spec string`,
		}},
		{"workspace-unset-env.yaml", []string{`testdata/workspace-unset-env.yaml:4: workspaces[0].connect.api_key: environment variable TEST_CONNECT_UNSET is not set`}},
		{"workspace-no-key.yaml", []string{`testdata/workspace-no-key.yaml:9: workspaces[1].connect: needs api_key or api_key_file: CONNECT_API_KEY stands in for the key of the single-workspace form only`}},
		{"same-destination.yaml", []string{
			`testdata/same-destination.yaml:27: workspaces[1].sinks[0].path: the same file as workspaces[0].sinks[0]: two sinks writing one file would delete each other's contacts`,
			`testdata/same-destination.yaml:30: workspaces[1].sinks[1].path: the same folder as workspaces[0].sinks[1]: two sinks writing one folder would delete each other's contacts`,
			`testdata/same-destination.yaml:33: workspaces[1].sinks[2].url: the same address book as workspaces[0].sinks[2]: two sinks writing one address book would delete each other's contacts`,
			`testdata/same-destination.yaml:39: workspaces[1].sinks[3].addressbook: the same address book as workspaces[0].sinks[3]: two sinks writing one address book would delete each other's contacts`,
		}},
		{"same-destination-single.yaml", []string{`testdata/same-destination-single.yaml:11: sinks[2].path: the same file as sinks[0]: two sinks writing one file would delete each other's contacts`}},
		{"state-backend.yaml", []string{`testdata/state-backend.yaml:2: state.backend: "etcd" is not a state backend (bbolt or nats)`}},
		{"state-no-path.yaml", []string{`testdata/state-no-path.yaml:2: state.path: is required`}},
		{"state-nats-bad-values.yaml", []string{
			`testdata/state-nats-bad-values.yaml:4: state.nats.urls[1]: must be a nats://, tls://, ws:// or wss:// URL with a host (nats://host:4222)`,
			`testdata/state-nats-bad-values.yaml:5: state.nats.replicas: must be between 1 and 5, not 7`,
			`testdata/state-nats-bad-values.yaml:6: state.nats.bucket_prefix: "connect.sync" is not a bucket prefix: ASCII letters, digits, '_' or '-' (it begins the names of key-value buckets)`,
			`testdata/state-nats-bad-values.yaml:7: state.nats.lease_ttl: must be at least 3s, not 2s`,
			`testdata/state-nats-bad-values.yaml:8: state.nats.instance: "node 1" is not an instance name: 1 to 64 ASCII letters, digits, '_' or '-' (it becomes a key token in the lease bucket)`,
		}},
		{"state-nats-missing.yaml", []string{
			`testdata/state-nats-missing.yaml:3: state.nats.urls: is required: at least one server, such as nats://127.0.0.1:4222`,
			`testdata/state-nats-missing.yaml:4: state.nats.replicas: must be between 1 and 5, not 0`,
			`testdata/state-nats-missing.yaml:5: state.nats.bucket_prefix: is required`,
			`testdata/state-nats-missing.yaml:6: state.nats.lease_ttl: must be at least 3s, not 0s`,
		}},
		{"state-nats-auth.yaml", []string{`testdata/state-nats-auth.yaml:6: state.nats.token_file: set token or token_file, not both`}},
		{"state-unknown-key.yaml", []string{
			`testdata/state-unknown-key.yaml:3: state.bbolt_path: unknown key (known here: backend, nats, path)`,
			`testdata/state-unknown-key.yaml:6: state.nats.replica: unknown key (known here: bucket_prefix, creds_file, discover_servers, instance, lease_ttl, ` +
				`nkey_file, password, password_file, replicas, timeout, tls_ca_file, token, token_file, urls, user)`,
		}},
		{"bad-schedule.yaml", []string{
			`testdata/bad-schedule.yaml:1: schedule: "*/5 * * *": expected exactly 5 fields, found 4: [*/5 * * *]`,
			`testdata/bad-schedule.yaml:2: schedule_jitter: must not be negative`,
			`testdata/bad-schedule.yaml:3: shutdown_timeout: must be positive`,
			`testdata/bad-schedule.yaml:5: http.listen: must be host:port or empty: address 9464: missing port in address`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", tt.file))
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Errorf("%T is not a *config.Error", err)
			}
		})
	}
}

// A value that may hold a secret is never quoted in an error: a base URL
// with credentials (refused), one mistyped around a password, a secret
// with a YAML tag, or a secret where a mapping or a list belongs, where
// YAML's own error would quote it.
func TestSecretBearingValuesNotQuoted(t *testing.T) {
	tests := []struct {
		file string
		want []string // each a whole line of the error
	}{
		{"base-url-secrets.yaml", []string{
			`testdata/base-url-secrets.yaml:4: workspaces[0].connect.base_url: must not hold credentials: the API key goes in api_key or api_key_file`,
			`testdata/base-url-secrets.yaml:9: workspaces[1].connect.base_url: must not hold credentials: the API key goes in api_key or api_key_file`,
			`testdata/base-url-secrets.yaml:14: workspaces[2].connect.base_url: is not a URL (such as https://api.skarbe.com)`,
			`testdata/base-url-secrets.yaml:19: workspaces[3].connect.base_url: must be an http or https URL with a host (such as https://api.skarbe.com)`,
			`testdata/base-url-secrets.yaml:24: workspaces[4].connect.base_url: must be an http or https URL, not "ftp://api.example.com"`,
		}},
		{"secret-types.yaml", []string{
			`testdata/secret-types.yaml:2: connect.api_key: must be a plain string, not tagged !!int`,
			`testdata/secret-types.yaml:7: state.nats.token: must be a plain string, not tagged !!binary`,
			`testdata/secret-types.yaml:13: sinks[0].headers: must be a mapping (key: value), not a single value`,
			`testdata/secret-types.yaml:19: sinks[1].headers.Authorization: must be a plain string, not tagged !!float`,
			`testdata/secret-types.yaml:24: sinks[2].password: must be a plain string, not tagged !custom`,
			`testdata/secret-types.yaml:25: sinks[3]: must be a mapping (key: value), not a single value`,
		}},
		{"connect-scalar.yaml", []string{
			`testdata/connect-scalar.yaml:1: connect: must be a mapping (key: value), not a single value`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			for _, load := range []func(string) (*Config, error){Load, LoadState} {
				_, err := load(filepath.Join("testdata", tt.file))
				if err == nil {
					t.Fatal("no error")
				}
				if err.Error() != strings.Join(tt.want, "\n") {
					t.Errorf("got:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
				}
				// Each secret is Pw0451secret and a letter: not a piece of one.
				for _, piece := range []string{"Pw0451", "w0451s", "51secr"} {
					if strings.Contains(err.Error(), piece) {
						t.Errorf("the error shows %q of a secret:\n%s", piece, err)
					}
				}
			}
		})
	}
}

// A problem on a line holding several keys is put on the key they share:
// in flow style the deepest key on the line is a sibling picked at random.
func TestErrorKeyOnSharedLine(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"block style", "sinks:\n  - name: a\n    type: csv\n    path: [1]\n", "config.yaml:4: sinks[0].path: "},
		{"flow mapping", "sinks:\n  - {name: a, type: csv, path: [1]}\n", "config.yaml:2: sinks[0]: "},
		{"flow sequence", "sinks: [{name: a, type: csv, path: a.csv}, {name: b, type: csv, path: [1]}]\n", "config.yaml:1: sinks: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 10 {
				_, err := Parse("config.yaml", []byte(tt.yaml))
				if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
					t.Fatalf("error = %v, want it to start with %q", err, tt.want)
				}
			}
		})
	}
}

// Two nats sinks on one stream would each be given the same change id,
// and the stream would keep only one sink's event: one nats sink per
// stream, whatever the servers.
func TestOneNatsSinkPerStream(t *testing.T) {
	const nats = "  - name: %s\n    type: nats\n    urls: [nats://%s:4222]\n"
	tests := []struct {
		name, sinks, want string
	}{
		{"default stream twice", fmt.Sprintf(nats, "a", "n1") + fmt.Sprintf(nats, "b", "n2"),
			`config.yaml:5: sinks[1].stream: "CONNECT" is already the stream of sinks[0]: one nats sink per stream (the stream keeps one event per change id, so one sink's events would be dropped)`},
		{"the same stream named", fmt.Sprintf(nats, "a", "n1") + "    stream: EVENTS\n" + fmt.Sprintf(nats, "b", "n1") + "    stream: EVENTS\n",
			`config.yaml:9: sinks[1].stream: "EVENTS" is already the stream of sinks[0]: one nats sink per stream (the stream keeps one event per change id, so one sink's events would be dropped)`},
		{"two streams", fmt.Sprintf(nats, "a", "n1") + fmt.Sprintf(nats, "b", "n1") + "    stream: OTHER\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("config.yaml", []byte("sinks:\n"+tt.sinks))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error = %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("error = %v\nwant %s", err, tt.want)
			case tt.want == "":
				// The single form's subjects are those of the workspace
				// named default, as before workspaces.
				if got := cfg.Workspaces[0].Sinks[0].Config.Target(); got != "nats:CONNECT/connect.default.contact.*" {
					t.Errorf("target = %s", got)
				}
			}
		})
	}
}

// The workspaces' sinks on one stream publish on their own subjects, with
// change ids of their own: they may share it.
func TestWorkspacesShareAStream(t *testing.T) {
	const ws = "  - name: %[1]s\n    connect: {api_key_file: /run/secrets/%[1]s.key}\n    sinks: [{name: bus, type: nats, urls: [nats://n1:4222]}]\n"
	cfg, err := Parse("config.yaml", []byte("workspaces:\n"+fmt.Sprintf(ws, "acme")+fmt.Sprintf(ws, "globex")))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range cfg.Workspaces {
		if got, want := w.Sinks[0].Config.Target(), "nats:CONNECT/connect."+w.Name+".contact.*"; got != want {
			t.Errorf("%s: target = %s, want %s", w.Name, got, want)
		}
	}
}

// A merge key would bring in keys that are never checked, and in a sink
// entry even the type that says which keys are allowed.
func TestMergeKeyRefused(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"a sink", "sinks:\n  - &a {name: a, type: csv, path: a.csv}\n  - <<: *a\n    name: b\n    pathh: typo.csv\n",
			"config.yaml:3: sinks[1].<<: merge keys are not supported: the keys they bring in would go unchecked"},
		{"a workspace's connect", "workspaces:\n  - name: a\n    connect: &c {api_key: k}\n    sinks: [{name: a, type: csv, path: a.csv}]\n" +
			"  - name: b\n    connect:\n      <<: *c\n      timeout: 5s\n    sinks: [{name: a, type: csv, path: b.csv}]\n",
			"config.yaml:7: workspaces[1].connect.<<: merge keys are not supported: the keys they bring in would go unchecked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse("config.yaml", []byte(tt.yaml)); err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestLoadStateNeedsNoSinkEnvironment(t *testing.T) {
	const unset = "CONNECT_SYNC_TEST_UNSET"
	os.Unsetenv(unset)
	tests := []struct {
		name, state, secret string
		wantLoad, wantState string // the errors; empty for none
	}{
		{"a sink's secret unset", "state.db", "${" + unset + "}",
			"config.yaml:7: sinks[0].secret: environment variable " + unset + " is not set", ""},
		{"the state path unset", "${" + unset + "}/state.db", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			"config.yaml:2: state.path: environment variable " + unset + " is not set",
			"config.yaml:2: state.path: environment variable " + unset + " is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			data := fmt.Sprintf("state:\n  path: %s\nsinks:\n  - name: hook\n    type: webhook\n    url: https://example.com/hook\n    secret: %s\n", tt.state, tt.secret)
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				load func(string) (*Config, error)
				want string
			}{{Load, tt.wantLoad}, {LoadState, tt.wantState}} {
				cfg, err := c.load(path)
				switch {
				case c.want == "" && err != nil:
					t.Errorf("unexpected error: %v", err)
				case c.want == "" && cfg.State.Path != "state.db":
					t.Errorf("state.path = %q", cfg.State.Path)
				case c.want != "" && (err == nil || !strings.HasSuffix(err.Error(), strings.TrimPrefix(c.want, "config.yaml"))):
					t.Errorf("error = %v, want %s", err, c.want)
				}
			}
		})
	}
}

// In either form, LoadState needs a variable set only where it is used:
// state.path and http.listen, and the names of workspaces and sinks, which
// status, reset and redeliver find things by. A setting elsewhere keeps
// its default.
func TestLoadStateWorkspaces(t *testing.T) {
	const unset = "${CONNECT_SYNC_TEST_UNSET}"
	os.Unsetenv("CONNECT_SYNC_TEST_UNSET")
	good := `state:
  path: state.db
schedule: ` + unset + `
workspaces:
  - name: acme
    connect:
      base_url: ` + unset + `
      api_key: ` + unset + `
      timeout: ` + unset + `
    schedule: "` + unset + `"
    sync:
      max_delete_fraction: ` + unset + `
    sinks:
      - name: hook
        type: webhook
        url: ` + unset + `/hook
        secret: ` + unset + `
  - name: globex
    sinks:
      - name: sheet
        type: ` + unset + `
        path: ` + unset + `/contacts.csv
`
	cfg, err := LoadState(writeConfig(t, good))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Workspaces {
		for _, s := range w.Sinks {
			got = append(got, w.Name+"/"+s.Name)
		}
	}
	if strings.Join(got, " ") != "acme/hook globex/sheet" || cfg.State.Path != "state.db" {
		t.Errorf("sinks = %v, state = %+v", got, cfg.State)
	}
	if acme := cfg.Workspaces[0]; acme.Connect.BaseURL != "https://api.skarbe.com" || acme.Schedule != "@every 5m" || acme.Sync.MaxDeleteFraction != 0.5 {
		t.Errorf("acme = %+v, want the defaults where a variable is unset", acme)
	}
	if _, err := Load(writeConfig(t, good)); err == nil || !strings.Contains(err.Error(), "config.yaml:3: schedule: environment variable CONNECT_SYNC_TEST_UNSET is not set") {
		t.Errorf("Load: %v", err)
	}

	tests := []struct{ name, yaml, want string }{
		{"a workspace name", "workspaces:\n  - name: acme-" + unset + "\n    sinks: [{name: a, type: csv, path: a.csv}]\n",
			"config.yaml:2: workspaces[0].name: environment variable CONNECT_SYNC_TEST_UNSET is not set"},
		{"a sink name", "workspaces:\n  - name: acme\n    sinks: [{name: \"" + unset + "\", type: csv, path: a.csv}]\n",
			"config.yaml:3: workspaces[0].sinks[0].name: environment variable CONNECT_SYNC_TEST_UNSET is not set"},
		{"a sink name, single form", "sinks: [{name: \"" + unset + "\", type: csv, path: a.csv}]\n",
			"config.yaml:1: sinks[0].name: environment variable CONNECT_SYNC_TEST_UNSET is not set"},
		{"http.listen", "http:\n  listen: " + unset + "\nworkspaces:\n  - name: acme\n    sinks: [{name: a, type: csv, path: a.csv}]\n",
			"config.yaml:2: http.listen: environment variable CONNECT_SYNC_TEST_UNSET is not set"},
		{"state.path through an alias", "workspaces:\n  - name: acme\n    connect:\n      query: &p " + unset + "\n    sinks: [{name: a, type: csv, path: a.csv}]\nstate:\n  path: *p\n",
			"config.yaml:7: state.path: environment variable CONNECT_SYNC_TEST_UNSET is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadState(writeConfig(t, tt.yaml)); err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("error = %v, want %s", err, tt.want)
			}
		})
	}
}

// LoadState reads the nats backend's settings, which status reads the
// state with: a variable there must be set, as in state.path, while one
// elsewhere need not be.
func TestLoadStateNATS(t *testing.T) {
	const unset = "${CONNECT_SYNC_TEST_UNSET}"
	os.Unsetenv("CONNECT_SYNC_TEST_UNSET")
	t.Setenv("TEST_NATS_HOST", "n1")
	t.Setenv("TEST_NATS_TOKEN", "s3cret")
	const state = "state:\n  backend: %s\n  nats:\n    urls: [\"nats://%s:4222\"]\n    token: %s\n    replicas: %s\n"
	const sinks = "sinks:\n  - name: hook\n    type: webhook\n    url: https://example.com/hook\n    secret: " + unset + "\n"

	good := fmt.Sprintf(state, "nats", "${TEST_NATS_HOST}", "${TEST_NATS_TOKEN}", "3") + sinks
	cfg, err := LoadState(writeConfig(t, good))
	if err != nil {
		t.Fatal(err)
	}
	if n := cfg.State.NATS; cfg.State.Backend != BackendNATS || !slices.Equal(n.URLs, []string{"nats://n1:4222"}) || n.Token.Reveal() != "s3cret" ||
		n.Replicas != 3 || n.Timeout != natsconn.DefaultTimeout || n.LeaseBucket() != "connect_sync_leases" {
		t.Errorf("state = %+v", cfg.State)
	}
	if _, err := Load(writeConfig(t, good)); err == nil || !strings.HasSuffix(err.Error(), "config.yaml:11: sinks[0].secret: environment variable CONNECT_SYNC_TEST_UNSET is not set") {
		t.Errorf("Load: %v", err)
	}

	tests := []struct{ name, yaml, want string }{
		{"the backend", fmt.Sprintf(state, unset, "n1", "t", "3") + sinks,
			"config.yaml:2: state.backend: environment variable CONNECT_SYNC_TEST_UNSET is not set"},
		{"a url", fmt.Sprintf(state, "nats", unset, "t", "3") + sinks,
			"config.yaml:4: state.nats.urls[0]: environment variable CONNECT_SYNC_TEST_UNSET is not set"},
		{"the token", fmt.Sprintf(state, "nats", "n1", unset, "3") + sinks,
			"config.yaml:5: state.nats.token: environment variable CONNECT_SYNC_TEST_UNSET is not set"},
		{"an invalid setting", fmt.Sprintf(state, "nats", "n1", "t", "9") + sinks,
			"config.yaml:6: state.nats.replicas: must be between 1 and 5, not 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadState(writeConfig(t, tt.yaml)); err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("error = %v, want %s", err, tt.want)
			}
		})
	}
}

// CONNECT_API_KEY is no workspace's key in the list form, set or not; but
// LoadState, which reads no key, does not ask for one.
func TestWorkspaceKeyRequired(t *testing.T) {
	const file = "testdata/workspace-no-key.yaml"
	const want = file + ":9: workspaces[1].connect: needs api_key or api_key_file: " + APIKeyEnv + " stands in for the key of the single-workspace form only"
	t.Setenv(APIKeyEnv, "sk_live_env")
	if _, err := Load(file); err == nil || err.Error() != want {
		t.Errorf("Load: error = %v, want %s", err, want)
	}
	cfg, err := LoadState(file)
	if err != nil {
		t.Fatalf("LoadState: %v", err)
	}
	if len(cfg.Workspaces) != 2 || cfg.Workspaces[1].Name != "globex" {
		t.Errorf("LoadState: workspaces = %+v", cfg.Workspaces)
	}
}

// writeConfig writes a config.yaml and returns its path.
func writeConfig(t *testing.T, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSchedule(t *testing.T) {
	from := time.Date(2026, 11, 25, 10, 2, 0, 0, time.UTC)
	tests := []struct {
		schedule string
		next     time.Time // the first run after from; zero for an error
	}{
		{"*/5 * * * *", time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC)},
		{"@hourly", time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)},
		{"@every 90s", from.Add(90 * time.Second)},
		{"CRON_TZ=Asia/Tokyo 0 3 * * *", time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)},
		{"*/5 * * * * *", time.Time{}},
		{"@every soon", time.Time{}},
		{"CRON_TZ=Nowhere/Special 0 3 * * *", time.Time{}},
		{"0 0 30 2 *", time.Time{}}, // 30 February
		{"", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.schedule, func(t *testing.T) {
			cfg, err := Parse("config.yaml", []byte("schedule: \""+tt.schedule+"\"\nsinks: [{name: a, type: csv, path: a.csv}]\n"))
			if tt.next.IsZero() {
				if err == nil || !strings.HasPrefix(err.Error(), "config.yaml:1: schedule: ") {
					t.Errorf("error = %v, want one at config.yaml:1: schedule", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Cron.Next(from); !got.Equal(tt.next) {
				t.Errorf("next run after %v = %v, want %v", from, got, tt.next)
			}
		})
	}
}

func TestAPIKeySources(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "api_key")
	os.WriteFile(keyFile, []byte("  sk_live_file\n"), 0o600)
	tests := []struct {
		name    string
		connect Connect
		env     string
		want    string
		wantErr error
	}{
		{"file trimmed", Connect{APIKeyFile: keyFile}, "", "sk_live_file", nil},
		{"environment trimmed", Connect{}, " sk_live_env\n", "sk_live_env", nil},
		{"blank environment", Connect{}, " ", "", ErrNoAPIKey},
		{"none", Connect{}, "", "", ErrNoAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(APIKeyEnv, tt.env)
			key, err := tt.connect.Key()
			if !errors.Is(err, tt.wantErr) || key.Reveal() != tt.want {
				t.Errorf("Key() = %q, %v", key.Reveal(), err)
			}
		})
	}
	if _, err := (&Connect{APIKeyFile: filepath.Join(dir, "missing")}).Key(); !errors.Is(err, ErrAPIKeyFile) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing key file: %v", err)
	}
}

func TestExampleConfigLoads(t *testing.T) {
	t.Setenv("CONNECT_API_KEY", "sk_live_example")
	t.Setenv("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	cfg, err := Load("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	single(t, cfg)
}

// The example ends with the list form, commented out: uncommented, it
// loads.
func TestExampleWorkspacesLoad(t *testing.T) {
	t.Setenv("GLOBEX_API_KEY", "sk_live_globex")
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, commented, ok := strings.Cut(string(data), "\n# workspaces:\n")
	if !ok {
		t.Fatal("no commented workspaces: in the example")
	}
	var b strings.Builder
	b.WriteString("workspaces:\n")
	for _, line := range strings.Split(strings.TrimSpace(commented), "\n") {
		b.WriteString(strings.TrimPrefix(line, "# ") + "\n")
	}
	cfg, err := Parse("config.example.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(cfg.Workspaces) != 2 {
		t.Errorf("workspaces = %+v", cfg.Workspaces)
	}
}

// The example's state section has the nats backend commented out:
// uncommented and chosen, it loads.
func TestExampleStateNATSLoads(t *testing.T) {
	t.Setenv("CONNECT_API_KEY", "sk_live_example")
	t.Setenv("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	before, commented, ok := strings.Cut(string(data), "\n  # nats:\n")
	nats := strings.Replace(before, "\n  backend: bbolt\n", "\n  backend: nats\n", 1)
	if !ok || nats == before {
		t.Fatal("no backend: bbolt and commented nats: in the example's state section")
	}
	var b strings.Builder
	b.WriteString(nats + "\n  nats:\n")
	lines := strings.SplitAfter(commented, "\n")
	for ; strings.HasPrefix(lines[0], "  #   "); lines = lines[1:] {
		b.WriteString("    " + strings.TrimPrefix(lines[0], "  #   "))
	}
	b.WriteString(strings.Join(lines, ""))
	cfg, err := Parse("config.example.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if n := cfg.State.NATS; cfg.State.Backend != BackendNATS || len(n.URLs) != 3 || n.CredsFile == "" || n.Replicas != 3 {
		t.Errorf("state = %+v", cfg.State)
	}
}

// No error shows a secret, whatever else is wrong around it.
func TestErrorsShowNoSecret(t *testing.T) {
	const canary = "sk_live_canary_7f3a"
	t.Setenv("TEST_CANARY", canary)
	data := `state:
  backend: nats
  nats:
    urls:
      - nats://n:4222
      - nats://alice:${TEST_CANARY}@n:4222
    user: alice
    password: ${TEST_CANARY}
    password_file: /p
connect:
  api_key: ${TEST_CANARY}
workspaces:
  - name: acme.eu
    connect: &c
      api_key: ${TEST_CANARY}
      api_key_file: /k
      base_ulr: x
    sinks:
      - name: phone
        type: carddav
        server: https://dav.example.com/
        username: alice
        password: ${TEST_CANARY}
        addressbook: Connect
  - name: acme.eu
    connect: *c
    sinks:
      - name: phone
        type: carddav
        server: https://dav.example.com/
        username: alice
        password: ` + canary + `
        addressbook: Connect
      - name: bus
        type: nats
        urls: [nats://n:4222]
        token: ` + canary + `
        token_file: /t
      - name: hook
        type: webhook
        url: https://example.com/hook
        secret: {` + canary + `: 1}
`
	// Fixed one by one, the file shows every other problem.
	fixes := []string{"", "      base_ulr: x\n", "        secret: {" + canary + ": 1}\n",
		"      - nats://alice:${TEST_CANARY}@n:4222\n", "    password_file: /p\n", "        token_file: /t\n", "      api_key_file: /k\n", "connect:\n  api_key: ${TEST_CANARY}\n"}
	for _, fix := range fixes {
		data = strings.Replace(data, fix, "", 1)
		for _, load := range []func(string) (*Config, error){Load, LoadState} {
			_, err := load(writeConfig(t, data))
			if err == nil {
				t.Fatalf("no error once %q is fixed", fix)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("the secret is in the error:\n%v", err)
			}
		}
	}
}

// A nats sink's workspace key, from before there were workspaces, keeps
// its subjects (and so its place in the stream) in the single form.
func TestNatsWorkspaceKeyKeepsItsSubjects(t *testing.T) {
	cfg, err := Load("testdata/nats-workspace-key.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := single(t, cfg)
	if got := w.Sinks[0].Config.Target(); got != "nats:CONNECT/connect.sales.contact.*" {
		t.Errorf("target = %s, want the subjects of workspace sales", got)
	}
}

// The workspaces' nats sinks on one stream share its prefix, and publish
// on subjects of their own.
func TestWorkspacesOnAStream(t *testing.T) {
	const ws = "  - name: %s\n    connect: {api_key_file: /run/secrets/k}\n    sinks: [{name: bus, type: nats, urls: [nats://n1:4222]%s}]\n"
	tests := []struct {
		name, acme, globex, want string
	}{
		{"other prefix", "", ", subject_prefix: crm", `config.yaml:7: workspaces[1].sinks[0].subject_prefix: "crm" differs from the "connect" of workspaces[0].sinks[0], which publishes to stream "CONNECT" too: the sinks of a stream share its prefix`},
		{"same subjects", ", workspace: sales", ", workspace: sales", `config.yaml:7: workspaces[1].sinks[0].workspace: workspaces[0].sinks[0] publishes on the same subjects (connect.sales.contact.*): give each workspace its own`},
		{"other stream", "", ", subject_prefix: crm, stream: CRM", ""},
		// The third sink clashes with the second, not with the first.
		{"same subjects as the second", "", ", workspace: sales", `config.yaml:10: workspaces[2].sinks[0].workspace: workspaces[1].sinks[0] publishes on the same subjects (connect.sales.contact.*): give each workspace its own`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			third := ""
			if tt.name == "same subjects as the second" {
				third = fmt.Sprintf(ws, "initech", ", workspace: sales")
			}
			_, err := Parse("config.yaml", []byte("workspaces:\n"+fmt.Sprintf(ws, "acme", tt.acme)+fmt.Sprintf(ws, "globex", tt.globex)+third))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error = %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("error = %v\nwant %s", err, tt.want)
			}
		})
	}
}

// A nats sink's connection keys belong to natsconn.Config, inline in the
// sink's settings: the strict walk knows them beside the sink's own, and
// they decode with their defaults.
func TestNatsConnectionKeys(t *testing.T) {
	const entry = "sinks:\n  - name: bus\n    type: nats\n    urls: [nats://n1:4222, nats://n2:4222]\n    user: alice\n    password_file: /run/secrets/nats\n    stream: EVENTS\n"
	cfg, err := Parse("config.yaml", []byte(entry))
	if err != nil {
		t.Fatal(err)
	}
	nc := single(t, cfg).Sinks[0].Config.(*nats.Config)
	if !slices.Equal(nc.URLs, []string{"nats://n1:4222", "nats://n2:4222"}) || nc.User != "alice" ||
		nc.PasswordFile != "/run/secrets/nats" || nc.Timeout != 10*time.Second || nc.Stream != "EVENTS" {
		t.Errorf("nats settings = %+v", nc)
	}

	_, err = Parse("config.yaml", []byte(entry+"    timout: 5s\n"))
	want := "config.yaml:8: sinks[0].timout: unknown key (known here: concurrency, creds_file, discover_servers, duplicate_window, max_age, name, " +
		"nkey_file, password, password_file, replicas, stream, subject_prefix, timeout, tls_ca_file, token, token_file, type, urls, user, workspace)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}
