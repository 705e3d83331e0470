package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/connect-sync/connect-sync/internal/lease"
	"github.com/connect-sync/connect-sync/internal/natsconn"
	"github.com/connect-sync/connect-sync/internal/sinks"
)

// validate checks the settings of the process, then each workspace's.
// sync is the top-level one, which workspaces inherit.
func (l *loader) validate(c *Config, sync Sync) {
	l.validateState(c.State)
	l.validateSync(sync, "sync", func(string) bool { return true })
	var gap time.Duration
	c.Cron, gap = l.parseSchedule(c.Schedule, "schedule")
	switch {
	case c.ScheduleJitter < 0:
		l.fail("schedule_jitter", errors.New("must not be negative"))
	case c.Cron != nil && c.ScheduleJitter >= gap:
		l.fail("schedule_jitter", fmt.Errorf("%v must be shorter than the time between runs (%v)", c.ScheduleJitter, gap))
	}
	if c.ShutdownTimeout <= 0 {
		l.fail("shutdown_timeout", errors.New("must be positive"))
	}
	l.validateHTTP(c.HTTP)
	l.validateForm(c)
	names := map[string]string{} // workspace name → its key path
	for i := range c.Workspaces {
		l.validateWorkspace(c, &c.Workspaces[i], l.places[i], names)
	}
}

func (l *loader) validateHTTP(h HTTP) {
	if h.Listen != "" {
		if _, _, err := net.SplitHostPort(h.Listen); err != nil {
			l.fail("http.listen", fmt.Errorf("must be host:port or empty: %w", err))
		}
	}
	for i, host := range h.AllowedHosts {
		if !hostName.MatchString(host) && net.ParseIP(strings.Trim(host, "[]")) == nil {
			l.fail(fmt.Sprintf("http.allowed_hosts[%d]", i), fmt.Errorf("%q is not a host name or IP address: give the name alone, without scheme, port or wildcard (metrics.example.com)", host))
		}
	}
	if h.IdleTimeout <= 0 {
		l.fail("http.idle_timeout", errors.New("must be positive"))
	}
}

// hostName is what a name in a Host header may be: '_' included, which
// some container networks' names have.
var hostName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$`)

// validateState checks the settings of the backend in use. Those of the
// other backend are left unchecked, not refused: a user may switch back
// and forth (to try the nats backend, to go back to one process) and keep
// both blocks in the file, and settings nothing reads can do no harm.
// Their keys are still checked by the walk, and their values must decode.
func (l *loader) validateState(s State) {
	switch s.Backend {
	case BackendBbolt:
		if s.Path == "" {
			l.fail("state.path", errors.New("is required"))
		}
	case BackendNATS:
		l.validateStateNATS(s.NATS, "state.nats")
	default:
		l.fail("state.backend", fmt.Errorf("%q is not a state backend (%s or %s)", s.Backend, BackendBbolt, BackendNATS))
	}
}

// bucketPrefix is what a bucket prefix may be: the characters a key-value
// bucket's name allows.
var bucketPrefix = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// minLeaseTTL is the shortest lease_ttl: a lease is renewed every third of
// it and must be let go within a quarter of it, which a shorter TTL would
// bring down to round trips and GC pauses.
const minLeaseTTL = 3 * time.Second

func (l *loader) validateStateNATS(s StateNATS, path string) {
	if err := s.Config.Validate(); err != nil {
		var fe *natsconn.FieldError
		if errors.As(err, &fe) {
			l.fail(path+"."+fe.Key, fe.Err)
		} else {
			l.fail(path, err)
		}
	}
	if s.Replicas < 1 || s.Replicas > 5 {
		l.fail(path+".replicas", fmt.Errorf("must be between 1 and 5, not %d", s.Replicas))
	}
	switch {
	case s.BucketPrefix == "":
		l.fail(path+".bucket_prefix", errors.New("is required"))
	case !bucketPrefix.MatchString(s.BucketPrefix):
		l.fail(path+".bucket_prefix", fmt.Errorf("%q is not a bucket prefix: ASCII letters, digits, '_' or '-' (it begins the names of key-value buckets)", s.BucketPrefix))
	}
	if s.LeaseTTL < minLeaseTTL {
		l.fail(path+".lease_ttl", fmt.Errorf("must be at least %v, not %v", minLeaseTTL, s.LeaseTTL))
	}
	if s.Instance != "" && !lease.ValidName(s.Instance) {
		l.fail(path+".instance", fmt.Errorf("%q is not an instance name: 1 to 64 ASCII letters, digits, '_' or '-' (it becomes a key token in the lease bucket)", s.Instance))
	}
}

// validateForm refuses a file that mixes the two forms, and a list form
// without workspaces.
func (l *loader) validateForm(c *Config) {
	if !l.has("workspaces") {
		return
	}
	for _, key := range []string{"connect", "sinks"} {
		if l.has(key) {
			l.fail(key, errors.New("cannot be set with workspaces: move it into each workspace"))
		}
	}
	if len(c.Workspaces) == 0 {
		l.fail("workspaces", errors.New("is empty: list at least one workspace, or remove the key to use the top-level connect and sinks"))
	}
}

func (l *loader) validateWorkspace(c *Config, w *Workspace, at place, names map[string]string) {
	key := func(k string) string { return joinKey(at.path, k) }
	if at.path != "" { // the single form's name is DefaultWorkspace
		switch other, taken := names[w.Name]; {
		case w.Name == "":
			l.fail(key("name"), errors.New("is required"))
		case !lease.ValidName(w.Name): // a NATS subject token, a state key, a metrics label
			l.fail(key("name"), fmt.Errorf("%q is not a workspace name: 1 to 64 ASCII letters, digits, '_' or '-' (it becomes a NATS subject token, a state key and a metrics label)", w.Name))
		case taken:
			l.fail(key("name"), fmt.Errorf("%q is already the name of %s", w.Name, other))
		default:
			names[w.Name] = at.path
		}
	}
	l.validateConnect(w.Connect, key("connect"))
	if at.path != "" && !l.stateOnly && w.Connect.APIKey.IsZero() && w.Connect.APIKeyFile == "" {
		// One variable for several workspaces would sync one Connect
		// account into all of them.
		l.fail(key("connect"), errors.New("needs api_key or api_key_file: "+APIKeyEnv+" stands in for the key of the single-workspace form only"))
	}
	if at.path != "" { // else the top-level sync, checked already
		l.validateSync(w.Sync, key("sync"), l.has)
	}
	w.Cron = c.Cron
	if at.ownSchedule {
		var gap time.Duration
		w.Cron, gap = l.parseSchedule(w.Schedule, key("schedule"))
		if w.Cron != nil && c.ScheduleJitter >= gap {
			l.fail(key("schedule"), fmt.Errorf("schedule_jitter %v must be shorter than the time between this workspace's runs (%v)", c.ScheduleJitter, gap))
		}
	}
	l.validateSinks(w.Sinks, key("sinks"), w.Name)
}

func (l *loader) validateConnect(c Connect, path string) {
	if err := checkBaseURL(c.BaseURL); err != nil {
		l.fail(path+".base_url", err)
	}
	if !c.APIKey.IsZero() && c.APIKeyFile != "" {
		l.fail(path+".api_key_file", errors.New("set connect.api_key or connect.api_key_file, not both"))
	}
	if c.Timeout <= 0 {
		l.fail(path+".timeout", errors.New("must be positive"))
	}
	if c.MaxRetries < 0 {
		l.fail(path+".max_retries", errors.New("must not be negative"))
	}
}

// checkBaseURL accepts an http or https URL with a host and without
// credentials: net/http would send them as basic auth, and errors show
// the URL. Its errors quote no more than the scheme and host of a URL
// without userinfo: the rest may hold a password or a token.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a URL (such as https://api.skarbe.com)")
	case u.User != nil:
		return errors.New("must not hold credentials: the API key goes in api_key or api_key_file")
	case u.Scheme == "" || u.Host == "":
		return errors.New("must be an http or https URL with a host (such as https://api.skarbe.com)")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must be an http or https URL, not %q", u.Scheme+"://"+u.Host)
	}
	return nil
}

// validateSync checks the sync settings that setHere says are set at
// path: a workspace's others are the top-level ones, checked there.
func (l *loader) validateSync(s Sync, path string, setHere func(key string) bool) {
	if k := path + ".max_delete_fraction"; setHere(k) && (s.MaxDeleteFraction < 0 || s.MaxDeleteFraction > 1) {
		l.fail(k, fmt.Errorf("must be between 0 and 1, not %g", s.MaxDeleteFraction))
	}
}

// parseSchedule parses the schedule at key and checks that it fires. It
// returns the schedule, nil when invalid, and the time between its next
// two runs, which the jitter must be shorter than to leave them in order.
func (l *loader) parseSchedule(spec, key string) (cron.Schedule, time.Duration) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		l.fail(key, fmt.Errorf("%q: %w", spec, err))
		return nil, 0
	}
	next := sched.Next(time.Now())
	if next.IsZero() {
		l.fail(key, fmt.Errorf("%q never fires", spec))
		return nil, 0
	}
	return sched, sched.Next(next).Sub(next)
}

// validateSinks checks a workspace's sinks at path: at least one, names
// unique, settings valid, and none clashing with a sink before it, of any
// workspace (sinks.Exclusive).
func (l *loader) validateSinks(ss []Sink, path, workspace string) {
	if len(ss) == 0 {
		l.fail(path, errors.New("at least one sink is required"))
	}
	seen := map[string]bool{}
	for i, s := range ss {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case s.Name == "":
			l.fail(p+".name", errors.New("is required"))
		case seen[s.Name]:
			l.fail(p+".name", fmt.Errorf("%q is already the name of another sink", s.Name))
		}
		seen[s.Name] = true
		if l.stateOnly {
			continue
		}
		if s.Config == nil {
			l.fail(p+".type", fmt.Errorf("unknown sink type %q (known: %s)", s.Type, strings.Join(slices.Sorted(maps.Keys(sinkTypes)), ", ")))
			continue
		}
		if l.validateSink(s, p) {
			l.validateClashes(s, p, workspace)
			l.sinks = append(l.sinks, placedSink{config: s.Config, path: p, workspace: workspace})
		}
	}
}

// validateSink checks the sink's own settings and reports whether they
// are valid.
func (l *loader) validateSink(s Sink, path string) bool {
	err := s.Config.Validate()
	var fe *sinks.FieldError
	switch {
	case err == nil:
		return true
	case errors.As(err, &fe):
		l.fail(path+"."+fe.Key, fe.Err)
	default:
		l.fail(path, err)
	}
	return false
}

// validateClashes reports the first sink before this one that it clashes
// with.
func (l *loader) validateClashes(s Sink, path, workspace string) {
	ex, ok := s.Config.(sinks.Exclusive)
	if !ok {
		return
	}
	for _, other := range l.sinks {
		if fe := ex.Clash(sinks.Neighbour{Config: other.config, Name: other.path, SameWorkspace: other.workspace == workspace}); fe != nil {
			l.fail(path+"."+fe.Key, fe.Err)
			return
		}
	}
}

// placedSink is a valid sink and where it is.
type placedSink struct {
	config          sinks.Config
	path, workspace string
}
