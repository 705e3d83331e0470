package config

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// config.example.yaml is the one reference of every key the config
// accepts: each key must be shown in it, live or commented out, under the
// same parent as in a real file. A key whose type appears in several
// places (connect at the top and in a workspace, the keys of a sink type
// in each entry of that type) is shown once for all of them. Every key the
// example shows, commented out or not, must be one the config accepts.
func TestExampleShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := newExampleCoverage()
	c.visit("the top level", "", yamlFields(reflect.TypeFor[fileShape]()), parseExample(string(data)))
	for _, typ := range slices.Sorted(maps.Keys(sinkTypes)) {
		if _, ok := c.want[sinkSet(typ)]; !ok {
			c.errs = append(c.errs, fmt.Sprintf("sinks: no entry of type %q", typ))
		}
	}
	for _, set := range c.order {
		for _, key := range c.want[set] {
			if !c.shown[set][key] {
				c.errs = append(c.errs, fmt.Sprintf("%s: missing (%s)", joinKey(c.path[set], key), set))
			}
		}
	}
	for _, e := range c.errs {
		t.Errorf("config.example.yaml: %s", e)
	}
}

// The matching is checked on a small example of its own, commented keys,
// sequences and prose included.
func TestExampleParse(t *testing.T) {
	root := parseExample(`# A comment: prose.
connect:
  # The key, or:
  # api_key_file: /k
  timeout: 60s
state:
  # nats:
  #   urls: [nats://n:4222]
  #   # token: t
sinks:
  - name: a
    type: csv
    # path: ./a.csv
# workspaces:
#   - name: acme
#     sinks:
#       - name: b
`)
	var got []string
	var walk func(n *exampleNode, path string)
	walk = func(n *exampleNode, path string) {
		for _, c := range n.children {
			p := path + "[]"
			if c.key != "" {
				p = joinKey(path, c.key)
			}
			got = append(got, fmt.Sprintf("%d:%s", c.line, p))
			walk(c, p)
		}
	}
	walk(root, "")
	want := []string{
		"2:connect", "4:connect.api_key_file", "5:connect.timeout",
		"6:state", "7:state.nats", "8:state.nats.urls", "9:state.nats.token",
		"10:sinks", "11:sinks[]", "11:sinks[].name", "12:sinks[].type", "13:sinks[].path",
		"14:workspaces", "15:workspaces[]", "15:workspaces[].name", "16:workspaces[].sinks",
		"17:workspaces[].sinks[]", "17:workspaces[].sinks[].name",
	}
	if !slices.Equal(got, want) {
		t.Errorf("parsed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// exampleNode is a key of config.example.yaml, live or commented out, or
// an item of a sequence (key ""), with what lies below it.
type exampleNode struct {
	key, value string
	line, col  int
	children   []*exampleNode
}

// exampleKeyLine is a line, uncommented, that holds a key: its indent, a
// sequence item's dash, the key and its value. Prose in comments starts
// with a capital or has spaces before its colon, and does not match.
var exampleKeyLine = regexp.MustCompile(`^( *)(- +)?([a-z][a-z0-9_]*):(?: +(.*))?$`)

// uncomment removes the comment markers before a line's text, each with
// one space after it, keeping the indent before them: "  #   urls: x"
// becomes "    urls: x", the line as it reads uncommented, and a comment
// within a commented block ("  #   # token: t") a key of that block.
func uncomment(line string) string {
	for {
		text := strings.TrimLeft(line, " ")
		if !strings.HasPrefix(text, "#") {
			return line
		}
		line = line[:len(line)-len(text)] + strings.TrimPrefix(text[1:], " ")
	}
}

// parseExample reads the keys of an example file, each under the key or
// item it is indented under, the way YAML reads them once uncommented.
func parseExample(data string) *exampleNode {
	root := &exampleNode{col: -1}
	stack := []*exampleNode{root}
	add := func(n *exampleNode) {
		parent := stack[len(stack)-1]
		parent.children = append(parent.children, n)
		stack = append(stack, n)
	}
	for i, line := range strings.Split(data, "\n") {
		m := exampleKeyLine.FindStringSubmatch(uncomment(line))
		if m == nil {
			continue
		}
		col := len(m[1])
		if m[2] != "" {
			// An item is under the key at its column, as in "sinks:\n- a: 1".
			for top := stack[len(stack)-1]; top.col > col || top.col == col && top.key == ""; top = stack[len(stack)-1] {
				stack = stack[:len(stack)-1]
			}
			add(&exampleNode{line: i + 1, col: col})
			col += len(m[2])
		}
		for stack[len(stack)-1].col >= col {
			stack = stack[:len(stack)-1]
		}
		add(&exampleNode{key: m[3], value: strings.Trim(m[4], `"' `), line: i + 1, col: col})
	}
	return root
}

// exampleCoverage gathers the keys the example shows for each set of
// keys: a struct type's, or a sink type's.
type exampleCoverage struct {
	order []string                   // the sets, in the order first met
	path  map[string]string          // set → the key path where first met
	want  map[string][]string        // set → its keys, sorted
	shown map[string]map[string]bool // set → the keys shown, in any of its places
	errs  []string
}

func newExampleCoverage() *exampleCoverage {
	return &exampleCoverage{path: map[string]string{}, want: map[string][]string{}, shown: map[string]map[string]bool{}}
}

func sinkSet(typ string) string { return "the keys of a " + typ + " sink" }

// visit records which keys of set, whose keys are fields, node n at path
// shows, and goes down into their values. Keys that are not fields are
// errors: the example documents a key the config would refuse.
func (c *exampleCoverage) visit(set, path string, fields map[string]reflect.Type, n *exampleNode) {
	if _, ok := c.want[set]; !ok {
		c.order = append(c.order, set)
		c.path[set] = path
		c.want[set] = slices.Sorted(maps.Keys(fields))
		c.shown[set] = map[string]bool{}
	}
	for _, k := range n.children {
		t, ok := fields[k.key]
		if !ok {
			c.errs = append(c.errs, fmt.Sprintf("line %d: %s: not a key the config accepts (a comment's prose that reads as a key? reword it)", k.line, joinKey(path, k.key)))
			continue
		}
		c.shown[set][k.key] = true
		c.descend(joinKey(path, k.key), t, k)
	}
}

// descend goes into a value of type t: a struct's keys, a sequence's
// items. Other values (durations, lists of strings, maps such as headers,
// whose keys are the user's) have no keys to show.
func (c *exampleCoverage) descend(path string, t reflect.Type, n *exampleNode) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case isSecret(t):
	case t.Kind() == reflect.Slice:
		for i, item := range n.children {
			if item.key == "" {
				c.item(fmt.Sprintf("%s[%d]", path, i), t.Elem(), item)
			}
		}
	case t.Kind() == reflect.Struct:
		// The same struct in several places (connect, sync) is one set,
		// named by where it is first met.
		set := "the keys of " + t.String()
		c.visit(set, path, yamlFields(t), n)
	}
}

// item goes into a sequence's item; a sink entry's keys are those of its
// type, shown in the entries of that type.
func (c *exampleCoverage) item(path string, t reflect.Type, n *exampleNode) {
	if t != reflect.TypeFor[sinkEntry]() {
		c.descend(path, t, n)
		return
	}
	typ := ""
	for _, k := range n.children {
		if k.key == "type" {
			typ = k.value
		}
	}
	newConfig, ok := sinkTypes[typ]
	if !ok {
		c.errs = append(c.errs, fmt.Sprintf("line %d: %s.type: %q is not a sink type", n.line, path, typ))
		return
	}
	fields := yamlFields(reflect.TypeOf(newConfig()))
	fields["name"], fields["type"] = reflect.TypeFor[string](), reflect.TypeFor[string]()
	c.visit(sinkSet(typ), path, fields, n)
}
