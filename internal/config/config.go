// Package config reads connect-sync's YAML configuration: strictly (an
// unknown key is an error), with defaults, ${ENV} expansion in values, and
// errors that name the file, line and key.
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/natsconn"
	"github.com/connect-sync/connect-sync/internal/secret"
	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/state"
)

// Config is the whole configuration: the workspaces to sync and the
// settings of the process that syncs them.
type Config struct {
	// Workspaces are the Connect workspaces synced, at least one, in file
	// order, names unique. A file without `workspaces:` has one, named
	// DefaultWorkspace, made of its top-level connect, sync and sinks.
	Workspaces []Workspace `yaml:"-"`
	State      State       `yaml:"state"`

	// Schedule is when `connect-sync run` syncs a workspace that has no
	// schedule of its own: a 5-field cron expression, a descriptor such as
	// @hourly or @every 5m, optionally after CRON_TZ=Zone. Cron holds it
	// parsed.
	Schedule        string        `yaml:"schedule"`
	Cron            cron.Schedule `yaml:"-"`
	RunOnStart      bool          `yaml:"run_on_start"`
	ScheduleJitter  time.Duration `yaml:"schedule_jitter"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	HTTP            HTTP          `yaml:"http"`
}

// DefaultWorkspace is the name of the one workspace of a file without
// `workspaces:`: the state file's, whose older layouts hold that one.
const DefaultWorkspace = state.DefaultWorkspace

// Workspace is one Connect workspace, synced with its own checkpoint and
// sinks.
type Workspace struct {
	// Name is unique in the file and safe as a NATS subject token, a
	// key in the state file and a metrics label.
	Name    string
	Connect Connect
	// Sync is the top-level sync with the workspace's own keys over it.
	Sync  Sync
	Sinks []Sink
	// Schedule is the workspace's own schedule, else the top-level one;
	// Cron holds it parsed.
	Schedule string
	Cron     cron.Schedule
}

// HTTP is the daemon's listener for metrics, status, health and POST /sync.
type HTTP struct {
	// Listen is host:port; empty disables the listener.
	Listen string `yaml:"listen"`
	// AllowedHosts are the names the listener answers to in a request's
	// Host header besides those it always does (its own address, loopback
	// names, the machine's names and IP addresses): what a proxy or a
	// scraper reaches it by. Names without a port, in any case.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request before the listener closes it.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// Connect is how to reach the Connect API.
type Connect struct {
	BaseURL    string        `yaml:"base_url"`
	APIKey     secret.String `yaml:"api_key"`
	APIKeyFile string        `yaml:"api_key_file"`
	Query      string        `yaml:"query"`
	Timeout    time.Duration `yaml:"timeout"`
	MaxRetries int           `yaml:"max_retries"`
}

// State is where the checkpoints and outboxes live.
type State struct {
	// Backend is BackendBbolt or BackendNATS.
	Backend string `yaml:"backend"`
	// Path is the bbolt file.
	Path string `yaml:"path"`
	// NATS is the nats backend's settings.
	NATS StateNATS `yaml:"nats"`
}

// The state backends.
const (
	// BackendBbolt keeps the state in one file, held by one process at a
	// time.
	BackendBbolt = "bbolt"
	// BackendNATS keeps the state in JetStream key-value buckets that
	// several instances share, each workspace synced by the one holding
	// its lease.
	BackendNATS = "nats"
)

// StateNATS is where the nats backend keeps the state and the workspaces'
// leases: the buckets StateBucket and LeaseBucket, created when missing.
type StateNATS struct {
	natsconn.Config `yaml:",inline"`
	// Replicas is how many servers keep each bucket, 1 to 5; it applies
	// when a bucket is created.
	Replicas int `yaml:"replicas"`
	// BucketPrefix names the buckets: letters, digits, '_' and '-'.
	BucketPrefix string `yaml:"bucket_prefix"`
	// LeaseTTL is how long after its holder's last renewal a workspace's
	// lease lapses, for another instance to take over; it applies when the
	// lease bucket is created.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// Instance is this instance's name in the leases; empty for the caller
	// to make one (lease.NewInstanceID).
	Instance string `yaml:"instance"`
}

// DefaultBucketPrefix is the BucketPrefix of a config that sets none.
const DefaultBucketPrefix = "connect_sync"

// StateBucket is the name of the bucket of the workspaces' state.
func (s StateNATS) StateBucket() string { return s.BucketPrefix + "_state" }

// LeaseBucket is the name of the bucket of the workspaces' leases.
func (s StateNATS) LeaseBucket() string { return s.BucketPrefix + "_leases" }

// defaultState is the state block an empty one means.
func defaultState() State {
	return State{
		Backend: BackendBbolt,
		Path:    "./connect-sync.db",
		NATS: StateNATS{
			Config:       natsconn.Config{Timeout: natsconn.DefaultTimeout},
			Replicas:     1,
			BucketPrefix: DefaultBucketPrefix,
			LeaseTTL:     15 * time.Second,
		},
	}
}

// Sync tunes change detection.
type Sync struct {
	MaxDeleteFraction float64 `yaml:"max_delete_fraction"`
}

// Sink is one entry of a workspace's `sinks:`. Name and Type are common to
// all sinks; Config holds the settings of that type (nil from LoadState,
// which does not read them).
type Sink struct {
	Name   string
	Type   string
	Config sinks.Config
}

// APIKeyEnv is the environment variable the API key is read from when the
// config names none.
const APIKeyEnv = "CONNECT_API_KEY"

// defaultConnect is the connect block an empty one means, in either form.
func defaultConnect() Connect {
	return Connect{BaseURL: "https://api.skarbe.com", Timeout: 60 * time.Second, MaxRetries: 4}
}

// Workspace returns the workspace of that name.
func (c *Config) Workspace(name string) (*Workspace, bool) {
	for i := range c.Workspaces {
		if c.Workspaces[i].Name == name {
			return &c.Workspaces[i], true
		}
	}
	return nil, false
}

// Sink returns the workspace's sink of that name.
func (w *Workspace) Sink(name string) (Sink, bool) {
	for _, s := range w.Sinks {
		if s.Name == name {
			return s, true
		}
	}
	return Sink{}, false
}

// ErrNoAPIKey means no API key was configured anywhere.
var ErrNoAPIKey = errors.New("no API key: set connect.api_key, connect.api_key_file or " + APIKeyEnv)

// ErrAPIKeyFile means connect.api_key_file could not be read or is empty.
var ErrAPIKeyFile = errors.New("connect.api_key_file")

// Key returns the API key: connect.api_key, else the content of
// connect.api_key_file, else the CONNECT_API_KEY environment variable,
// whitespace trimmed (the way systemd credentials and shell exports
// arrive). The file is read here rather than at load, so commands that do
// not call the API (status, reset) work where the credential is not
// readable, and a long-running service picks up a rotated key.
func (c *Connect) Key() (secret.String, error) {
	switch {
	case !c.APIKey.IsZero():
		return c.APIKey, nil
	case c.APIKeyFile != "":
		key, err := secret.ReadFile(c.APIKeyFile)
		if err != nil {
			return secret.String{}, fmt.Errorf("%w: %w", ErrAPIKeyFile, err)
		}
		return key, nil
	case strings.TrimSpace(os.Getenv(APIKeyEnv)) != "":
		return secret.New(strings.TrimSpace(os.Getenv(APIKeyEnv))), nil
	}
	return secret.String{}, ErrNoAPIKey
}
