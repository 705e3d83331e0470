package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connect-sync/connect-sync/internal/sinks/csv"
	"github.com/connect-sync/connect-sync/internal/sinks/vcarddir"
)

func TestLoadGood(t *testing.T) {
	t.Setenv("TEST_CONNECT_KEY", "sk_live_from_env")
	cfg, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cfg.Connect.Key(); got.Reveal() != "sk_live_from_env" {
		t.Errorf("api key = %q", got.Reveal())
	}
	if cfg.Connect.BaseURL != "https://api.example.com/" || cfg.Connect.Query != "acme" || cfg.Connect.Timeout != 5*time.Second || cfg.Connect.MaxRetries != 2 {
		t.Errorf("connect = %+v", cfg.Connect)
	}
	if cfg.Sync.MaxDeleteFraction != 0.25 || cfg.State.Path != "/var/lib/connect-sync/state.db" {
		t.Errorf("sync = %+v, state = %+v", cfg.Sync, cfg.State)
	}
	c, ok := cfg.Sinks[0].Config.(*csv.Config)
	if !ok || c.Path != "./contacts.csv" || c.FormulaGuard {
		t.Errorf("csv sink = %#v", cfg.Sinks[0].Config)
	}
	v, ok := cfg.Sinks[1].Config.(*vcarddir.Config)
	if !ok || v.Path != "./vcards" || v.Version != "4.0" {
		t.Errorf("vcard-dir sink = %#v", cfg.Sinks[1].Config)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Connect.BaseURL != "https://api.skarbe.com" || cfg.Connect.Timeout != 60*time.Second || cfg.Connect.MaxRetries != 4 ||
		cfg.State.Path != "./connect-sync.db" || cfg.Sync.MaxDeleteFraction != 0.5 {
		t.Errorf("defaults: %+v", cfg)
	}
	if cfg.Schedule != "@every 5m" || !cfg.RunOnStart || cfg.ScheduleJitter != 0 || cfg.ShutdownTimeout != 30*time.Second || cfg.HTTP.Listen != "127.0.0.1:9464" {
		t.Errorf("daemon defaults: %+v", cfg)
	}
	if c := cfg.Sinks[0].Config.(*csv.Config); !c.FormulaGuard {
		t.Error("the formula guard is off by default")
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // each a whole line of the error
	}{
		{"unknown-sink-type.yaml", []string{`testdata/unknown-sink-type.yaml:8: sinks[1].type: unknown sink type "csvv" (known: carddav, csv, nats, vcard-dir, webhook)`}},
		{"unknown-key.yaml", []string{`testdata/unknown-key.yaml:3: connect.base_ulr: unknown key (known here: api_key, api_key_file, base_url, max_retries, query, timeout)`}},
		{"unknown-sink-key.yaml", []string{`testdata/unknown-sink-key.yaml:4: sinks[0].pathh: unknown key (known here: csv_formula_guard, name, path, type)`}},
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
			`config.yaml:5: sinks[1].stream: "CONNECT" is already the stream of sink "a": one nats sink per stream (the stream keeps one event per change id, so one sink's events would be dropped)`},
		{"the same stream named", fmt.Sprintf(nats, "a", "n1") + "    stream: EVENTS\n" + fmt.Sprintf(nats, "b", "n1") + "    stream: EVENTS\n",
			`config.yaml:9: sinks[1].stream: "EVENTS" is already the stream of sink "a": one nats sink per stream (the stream keeps one event per change id, so one sink's events would be dropped)`},
		{"two streams", fmt.Sprintf(nats, "a", "n1") + fmt.Sprintf(nats, "b", "n1") + "    stream: OTHER\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("config.yaml", []byte("sinks:\n"+tt.sinks))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error = %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("error = %v\nwant %s", err, tt.want)
			}
		})
	}
}

// A merge key would bring in keys that are never checked, and in a sink
// entry even the type that says which keys are allowed.
func TestMergeKeyRefused(t *testing.T) {
	data := "sinks:\n  - &a {name: a, type: csv, path: a.csv}\n  - <<: *a\n    name: b\n    pathh: typo.csv\n"
	want := "config.yaml:3: sinks[1].<<: merge keys are not supported: the keys they bring in would go unchecked"
	if _, err := Parse("config.yaml", []byte(data)); err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
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
	if _, err := Load("../../config.example.yaml"); err != nil {
		t.Fatal(err)
	}
}
