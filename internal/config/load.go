package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

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

// LoadState reads the config for the commands that work on the state
// alone (status, reset, redeliver), which need only the state section
// (state.path, or state.nats to reach the buckets) and http.listen: an
// environment variable used elsewhere (for a sink's secret, say) may be
// unset, as in a shell without the service's environment, and the sinks'
// own settings are not checked.
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
	l := &loader{
		file: file, lines: map[string]int{}, stateOnly: stateOnly,
		walked: map[walked]bool{}, unset: map[*yaml.Node][]string{}, reported: map[*yaml.Node]bool{},
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, l.syntaxError(err)
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: file, Err: errors.New("the file is empty")}
	}
	root := doc.Content[0]
	l.walk(root, "", reflect.TypeFor[fileShape]())
	if len(l.errs) > 0 {
		return nil, l.joined()
	}
	f := defaults()
	if err := root.Decode(&f); err != nil {
		return nil, l.syntaxError(err)
	}
	cfg := l.config(&f)
	if len(l.errs) > 0 {
		// A setting that did not decode would also be reported missing.
		return nil, l.joined()
	}
	l.validate(cfg, f.Sync)
	if len(l.errs) > 0 {
		return nil, l.joined()
	}
	return cfg, nil
}

// joined returns the errors in the order of their lines in the file; those
// without a line, about something missing, come last.
func (l *loader) joined() error {
	line := func(err error) int {
		if e, ok := err.(*Error); ok && e.Line > 0 {
			return e.Line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(l.errs, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
	return errors.Join(l.errs...)
}

type loader struct {
	file      string
	lines     map[string]int // key path → line
	places    []place        // of each workspace, in Config's order
	errs      []error
	stateOnly bool // LoadState's

	sinks []placedSink // the valid sinks so far, of every workspace

	walked   map[walked]bool
	unset    map[*yaml.Node][]string // a scalar expanded → the unset variables it names
	reported map[*yaml.Node]bool     // a scalar whose unset variables are reported
}

// walked is a node checked as a type. An alias leads to a node that may
// be checked already, or to one of its parents.
type walked struct {
	n *yaml.Node
	t reflect.Type
}

// has reports whether the file has the key path.
func (l *loader) has(key string) bool {
	_, ok := l.lines[key]
	return ok
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
// reports keys the target type does not have. It follows aliases: the
// block an alias names is checked as the type of the place it is used
// (once per type, which also ends a cycle).
func (l *loader) walk(n *yaml.Node, path string, t reflect.Type) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode {
		l.expand(n, path)
		l.checkScalar(n, path, t)
		return
	}
	if l.walked[walked{n, t}] {
		return
	}
	l.walked[walked{n, t}] = true
	switch n.Kind {
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice {
			return // Decode refuses it, or takes it unchecked (any)
		}
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			l.lines[p] = item.Line
			l.walk(item, p, t.Elem())
		}
	case yaml.MappingNode:
		switch {
		case isSecret(t):
			// Its keys may be the secret itself: never name them in an error.
		case t == reflect.TypeFor[sinkEntry]():
			l.walkMapping(n, path, sinkFields(n), reflect.TypeFor[any]())
		default:
			l.walkMapping(n, path, yamlFields(t), elemType(t))
		}
	}
}

// checkScalar refuses a value of a shape that would make YAML's own error
// quote it where it may be a secret: YAML quotes the start of a value it
// cannot decode, and all of a tagged value it cannot read as its tag. A
// secret must be a plain string; where a mapping or a list of secrets
// belongs (headers, connect, a sink), a single value is refused without
// being quoted.
func (l *loader) checkScalar(n *yaml.Node, path string, t reflect.Type) {
	switch {
	case isSecret(t):
		if n.Style&yaml.TaggedStyle != 0 && n.ShortTag() != "!!str" {
			l.fail(path, fmt.Errorf("must be a plain string, not tagged %s", n.Tag))
		}
	case n.ShortTag() == "!!null" || !holdsSecret(t, map[reflect.Type]bool{}):
	case t.Kind() == reflect.Slice:
		l.fail(path, errors.New("must be a list, not a single value"))
	default:
		l.fail(path, errors.New("must be a mapping (key: value), not a single value"))
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

// namePath matches the key paths of workspace and sink names.
var namePath = regexp.MustCompile(`^(workspaces\[\d+\]\.)?(sinks\[\d+\]\.)?name$`)

// expand replaces ${NAME} in a value with the environment variable; an
// unset variable is an error rather than a silent empty value. LoadState
// needs only the state section, http.listen, and the names it finds things
// by: elsewhere it makes a value with an unset variable null, so that the
// setting keeps its default, which is valid, and is not used.
func (l *loader) expand(n *yaml.Node, path string) {
	unset, done := l.unset[n]
	if !done { // a value an alias repeats is expanded once
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := os.LookupEnv(name)
			if !ok {
				unset = append(unset, name)
			}
			return v
		})
		l.unset[n] = unset
	}
	switch {
	case len(unset) == 0 || l.reported[n]:
	case l.stateOnly && !within(path, "state") && path != "http.listen" && !namePath.MatchString(path):
		n.Tag, n.Value, n.Style = "!!null", "", 0
	default:
		for _, name := range unset {
			l.fail(path, fmt.Errorf("environment variable %s is not set", name))
		}
		l.reported[n] = true
	}
}
