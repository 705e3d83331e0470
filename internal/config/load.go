package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/connect-sync/connect-sync/internal/sinks"
	"github.com/connect-sync/connect-sync/internal/sinks/carddav"
	"github.com/connect-sync/connect-sync/internal/sinks/csv"
	"github.com/connect-sync/connect-sync/internal/sinks/nats"
	"github.com/connect-sync/connect-sync/internal/sinks/vcarddir"
	"github.com/connect-sync/connect-sync/internal/sinks/webhook"
)

// sinkTypes maps each sink `type:` to its settings with their defaults.
// A new sink type is added here and nowhere else.
var sinkTypes = map[string]func() sinks.Config{
	"csv":       func() sinks.Config { return csv.DefaultConfig() },
	"vcard-dir": func() sinks.Config { return vcarddir.DefaultConfig() },
	"carddav":   func() sinks.Config { return carddav.DefaultConfig() },
	"webhook":   func() sinks.Config { return webhook.DefaultConfig() },
	"nats":      func() sinks.Config { return nats.DefaultConfig() },
}

// Error is a problem at a place in the config file.
type Error struct {
	File string
	Line int    // 0 when the problem has no single place
	Key  string // the key path, such as "sinks[1].type"
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads, checks and validates the config file at path. Every problem
// found is reported, each as an *Error, joined.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	return Parse(path, data)
}

// LoadState reads the config for the commands that work on the state file
// alone (status, reset, redeliver), which need only state.path and
// http.listen: an environment variable used elsewhere (for a sink's secret,
// say) may be unset, as in a shell without the service's environment, and
// the sinks' own settings are not checked.
func LoadState(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	return parse(path, data, true)
}

// Parse is Load for a config already read; file names it in errors.
func Parse(file string, data []byte) (*Config, error) {
	return parse(file, data, false)
}

func parse(file string, data []byte, stateOnly bool) (*Config, error) {
	l := &loader{file: file, lines: map[string]int{}, stateOnly: stateOnly}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, l.syntaxError(err)
	}
	cfg := defaults()
	if len(doc.Content) == 0 {
		return nil, &Error{File: file, Err: errors.New("the file is empty")}
	}
	root := doc.Content[0]
	l.walk(root, "", reflect.TypeFor[Config]())
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	if err := root.Decode(&cfg); err != nil {
		return nil, l.syntaxError(err)
	}
	for i := range cfg.Sinks {
		if !stateOnly {
			l.decodeSink(&cfg.Sinks[i], l.sinkNodes[i], fmt.Sprintf("sinks[%d]", i))
		}
	}
	if len(l.errs) > 0 {
		// A setting that did not decode would also be reported missing.
		return nil, errors.Join(l.errs...)
	}
	l.validate(&cfg)
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return &cfg, nil
}

type loader struct {
	file      string
	lines     map[string]int // key path → line
	sinkNodes []*yaml.Node
	errs      []error
	stateOnly bool // LoadState's
}

func (l *loader) fail(key string, err error) {
	l.errs = append(l.errs, &Error{File: l.file, Line: l.line(key), Key: key, Err: err})
}

// line finds the line of a key path, or of its nearest parent.
func (l *loader) line(key string) int {
	for ; key != ""; key = parentKey(key) {
		if n, ok := l.lines[key]; ok {
			return n
		}
	}
	return 0
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// syntaxError turns yaml's "yaml: line 3: ..." into "file:3: key: ...",
// one error for each line yaml names.
func (l *loader) syntaxError(err error) error {
	return errors.Join(l.yamlErrors(err, "")...)
}

// yamlErrors is syntaxError's list; an error that names no line is put on
// key.
func (l *loader) yamlErrors(err error, key string) []error {
	var errs []error
	for _, m := range yamlLine.FindAllStringSubmatch(err.Error(), -1) {
		n, _ := strconv.Atoi(m[1])
		errs = append(errs, &Error{File: l.file, Line: n, Key: l.keyAt(n), Err: errors.New(m[2])})
	}
	if len(errs) == 0 {
		return []error{&Error{File: l.file, Line: l.line(key), Key: key, Err: errors.New(strings.TrimPrefix(err.Error(), "yaml: "))}}
	}
	return errs
}

// keyAt returns the key path a problem on a line belongs to: the deepest
// key there when the line's keys lie on one path, as in block style, else
// the path they share. A flow mapping puts sibling keys on one line, and
// naming one of them (whichever the map gave first) would blame a key that
// may be fine.
func (l *loader) keyAt(line int) string {
	var keys []string
	for k, n := range l.lines {
		if n == line {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	deepest := slices.MaxFunc(keys, func(a, b string) int { return cmp.Compare(len(a), len(b)) })
	shared := deepest
	for _, k := range keys {
		for !within(k, shared) {
			shared = parentKey(shared)
		}
	}
	return shared
}

// within reports whether key is path or lies under it.
func within(key, path string) bool {
	return path == "" || key == path || strings.HasPrefix(key, path+".") || strings.HasPrefix(key, path+"[")
}

// parentKey returns the key path one level up: "sinks[1]" for
// "sinks[1].type", "sinks" for "sinks[1]", "" for "sinks".
func parentKey(key string) string {
	if i := strings.LastIndexAny(key, ".["); i >= 0 {
		return key[:i]
	}
	return ""
}

// walk records the line of every key, expands ${ENV} in values, and
// reports keys the target type does not have.
func (l *loader) walk(n *yaml.Node, path string, t reflect.Type) {
	switch n.Kind {
	case yaml.ScalarNode:
		l.expand(n, path)
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			l.lines[p] = item.Line
			switch {
			case t == reflect.TypeFor[[]Sink]():
				l.sinkNodes = append(l.sinkNodes, item)
				l.walkMapping(item, p, sinkFields(item), reflect.TypeFor[any]())
			case t.Kind() == reflect.Slice:
				l.walk(item, p, t.Elem())
			}
		}
	case yaml.MappingNode:
		if isSecret(t) {
			return // its keys may be the secret itself: never name them in an error
		}
		l.walkMapping(n, path, yamlFields(t), elemType(t))
	}
}

// walkMapping walks a mapping whose keys must be those of fields; with nil
// fields, any key goes, and its value is an elem.
func (l *loader) walkMapping(n *yaml.Node, path string, fields map[string]reflect.Type, elem reflect.Type) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := joinKey(path, k.Value)
		l.lines[p] = k.Line
		t, ok := fields[k.Value]
		switch {
		case k.ShortTag() == mergeTag:
			l.fail(p, errors.New("merge keys are not supported: the keys they bring in would go unchecked"))
			continue
		case fields == nil:
			t = elem
		case !ok:
			l.fail(p, fmt.Errorf("unknown key (known here: %s)", strings.Join(slices.Sorted(maps.Keys(fields)), ", ")))
			continue
		}
		l.walk(v, p, t)
	}
}

// mergeTag is the tag of YAML's merge key, <<.
const mergeTag = "!!merge"

// sinkFields returns the keys a sink entry may have: the common ones and
// those of its type. For an unknown type (reported by validate) it returns
// nil, so that the entry's keys are not checked.
func sinkFields(n *yaml.Node) map[string]reflect.Type {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "type" {
			continue
		}
		newConfig, ok := sinkTypes[n.Content[i+1].Value]
		if !ok {
			return nil
		}
		fields := yamlFields(reflect.TypeOf(newConfig()))
		fields["name"], fields["type"] = reflect.TypeFor[string](), reflect.TypeFor[string]()
		return fields
	}
	return nil
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces ${NAME} in a value with the environment variable; an
// unset variable is an error rather than a silent empty value.
func (l *loader) expand(n *yaml.Node, path string) {
	n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := os.LookupEnv(name)
		if !ok && !(l.stateOnly && path != "state.path" && path != "http.listen") {
			l.fail(path, fmt.Errorf("environment variable %s is not set", name))
		}
		return v
	})
}

func (l *loader) decodeSink(s *Sink, n *yaml.Node, path string) {
	newConfig, ok := sinkTypes[s.Type]
	if !ok {
		return // reported by validate
	}
	s.Config = newConfig()
	if err := n.Decode(s.Config); err != nil {
		l.errs = append(l.errs, l.yamlErrors(err, path)...)
	}
}

// UnmarshalYAML reads the common keys of a sink entry; the type's own
// settings are decoded once the type is known.
func (s *Sink) UnmarshalYAML(n *yaml.Node) error {
	var common struct {
		Name string `yaml:"name"`
		Type string `yaml:"type"`
	}
	if err := n.Decode(&common); err != nil {
		return err
	}
	s.Name, s.Type = common.Name, common.Type
	return nil
}

func (l *loader) validate(c *Config) {
	if u, err := url.Parse(c.Connect.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.fail("connect.base_url", fmt.Errorf("must be an http or https URL, not %q", c.Connect.BaseURL))
	}
	if !c.Connect.APIKey.IsZero() && c.Connect.APIKeyFile != "" {
		l.fail("connect.api_key_file", errors.New("set connect.api_key or connect.api_key_file, not both"))
	}
	if c.Connect.Timeout <= 0 {
		l.fail("connect.timeout", errors.New("must be positive"))
	}
	if c.Connect.MaxRetries < 0 {
		l.fail("connect.max_retries", errors.New("must not be negative"))
	}
	if c.State.Path == "" {
		l.fail("state.path", errors.New("is required"))
	}
	if f := c.Sync.MaxDeleteFraction; f < 0 || f > 1 {
		l.fail("sync.max_delete_fraction", fmt.Errorf("must be between 0 and 1, not %g", f))
	}
	l.validateSchedule(c)
	if c.ShutdownTimeout <= 0 {
		l.fail("shutdown_timeout", errors.New("must be positive"))
	}
	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			l.fail("http.listen", fmt.Errorf("must be host:port or empty: %w", err))
		}
	}
	if len(c.Sinks) == 0 {
		l.fail("sinks", errors.New("at least one sink is required"))
	}
	seen := map[string]bool{}
	streams := map[string]string{} // nats stream → the sink that publishes to it
	for i, s := range c.Sinks {
		path := fmt.Sprintf("sinks[%d]", i)
		switch {
		case s.Name == "":
			l.fail(path+".name", errors.New("is required"))
		case seen[s.Name]:
			l.fail(path+".name", fmt.Errorf("%q is already the name of another sink", s.Name))
		}
		seen[s.Name] = true
		if l.stateOnly {
			continue
		}
		if s.Config == nil {
			l.fail(path+".type", fmt.Errorf("unknown sink type %q (known: %s)", s.Type, strings.Join(slices.Sorted(maps.Keys(sinkTypes)), ", ")))
			continue
		}
		l.validateSink(s, path)
		l.validateStream(s, path, streams)
	}
}

// validateStream allows one nats sink per stream. Every sink is given the
// same change under the same id, and the stream keeps one message per id
// within its duplicate window: a second sink's copy would be dropped yet
// acknowledged. Sinks on different servers with the same stream name are
// refused too, as nothing here tells two clusters from two nodes of one.
func (l *loader) validateStream(s Sink, path string, streams map[string]string) {
	nc, ok := s.Config.(*nats.Config)
	if !ok {
		return
	}
	if other, taken := streams[nc.Stream]; taken {
		l.fail(path+".stream", fmt.Errorf("%q is already the stream of sink %q: one nats sink per stream (the stream keeps one event per change id, so one sink's events would be dropped)", nc.Stream, other))
		return
	}
	streams[nc.Stream] = s.Name
}

// validateSchedule parses the schedule and checks that it fires, and that
// the jitter leaves the runs in their order.
func (l *loader) validateSchedule(c *Config) {
	sched, err := cron.ParseStandard(c.Schedule)
	var next time.Time
	switch {
	case err != nil:
		l.fail("schedule", fmt.Errorf("%q: %w", c.Schedule, err))
	case sched.Next(time.Now()).IsZero():
		l.fail("schedule", fmt.Errorf("%q never fires", c.Schedule))
	default:
		c.Cron, next = sched, sched.Next(time.Now())
	}
	switch {
	case c.ScheduleJitter < 0:
		l.fail("schedule_jitter", errors.New("must not be negative"))
	case c.Cron != nil && c.ScheduleJitter >= c.Cron.Next(next).Sub(next):
		l.fail("schedule_jitter", fmt.Errorf("%v must be shorter than the time between runs (%v)", c.ScheduleJitter, c.Cron.Next(next).Sub(next)))
	}
}

func (l *loader) validateSink(s Sink, path string) {
	err := s.Config.Validate()
	var fe *sinks.FieldError
	switch {
	case err == nil:
	case errors.As(err, &fe):
		l.fail(path+"."+fe.Key, fe.Err)
	default:
		l.fail(path, err)
	}
}
