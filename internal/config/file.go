package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/connect-sync/connect-sync/internal/sinks"
)

// fileShape is the file's layout: Config's own keys, and the keys that make
// the workspaces in either form. The walk checks keys against it, and parse
// decodes it and then turns it into a Config, which has no top-level
// connect or sinks for a caller to use by mistake.
type fileShape struct {
	Config `yaml:",inline"`

	// The single form: one workspace, DefaultWorkspace.
	Connect Connect     `yaml:"connect"`
	Sinks   []sinkEntry `yaml:"sinks"`
	// Sync is the single workspace's, or every workspace's default.
	Sync Sync `yaml:"sync"`

	Workspaces []workspaceEntry `yaml:"workspaces"`
}

// defaults returns the configuration an empty file means.
func defaults() fileShape {
	return fileShape{
		Config: Config{
			State:           defaultState(),
			Schedule:        "@every 5m",
			RunOnStart:      true,
			ShutdownTimeout: 30 * time.Second,
			HTTP:            HTTP{Listen: "127.0.0.1:9464", IdleTimeout: time.Minute},
		},
		Connect: defaultConnect(),
		Sync:    Sync{MaxDeleteFraction: 0.5},
	}
}

// workspaceEntry is an entry of `workspaces:`.
type workspaceEntry struct {
	Name     string      `yaml:"name"`
	Connect  Connect     `yaml:"connect"`
	Schedule *string     `yaml:"schedule"` // nil: the top-level one
	Sync     Sync        `yaml:"sync"`
	Sinks    []sinkEntry `yaml:"sinks"`

	// sync is decoded again over the top-level sync, so that the keys set
	// here override those and the rest are inherited.
	sync *yaml.Node
}

// UnmarshalYAML decodes the entry over the connect defaults, which a
// slice's new elements would not have.
func (e *workspaceEntry) UnmarshalYAML(n *yaml.Node) error {
	type workspace workspaceEntry // without this method
	p := workspace{Connect: defaultConnect()}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*e = workspaceEntry(p)
	e.sync = valueOf(n, "sync")
	return nil
}

// sinkEntry is an entry of `sinks:`: the keys common to all sinks, and the
// entry itself, whose type's settings are decoded once the type is known.
type sinkEntry struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`

	node *yaml.Node
}

// UnmarshalYAML keeps the node with the common keys; an alias comes here
// resolved.
func (e *sinkEntry) UnmarshalYAML(n *yaml.Node) error {
	type sink sinkEntry // without this method
	var p sink
	if err := n.Decode(&p); err != nil {
		return err
	}
	*e = sinkEntry(p)
	e.node = n
	return nil
}

// valueOf returns the value of key in mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// place is where a workspace's keys are in the file.
type place struct {
	path        string // "workspaces[1]"; "" in the single form
	ownSchedule bool
}

// config turns the decoded file into a Config: one workspace per entry of
// `workspaces:`, or DefaultWorkspace made of the top-level keys. It records
// each workspace's place for validate.
func (l *loader) config(f *fileShape) *Config {
	c := f.Config
	if !l.has("workspaces") {
		w := Workspace{Name: DefaultWorkspace, Connect: f.Connect, Sync: f.Sync, Schedule: c.Schedule}
		w.Sinks = l.workspaceSinks(f.Sinks, "", w.Name)
		c.Workspaces, l.places = []Workspace{w}, []place{{}}
		return &c
	}
	for i, e := range f.Workspaces {
		at := place{path: fmt.Sprintf("workspaces[%d]", i), ownSchedule: e.Schedule != nil}
		w := Workspace{Name: e.Name, Connect: e.Connect, Sync: f.Sync, Schedule: c.Schedule}
		if e.sync != nil {
			if err := e.sync.Decode(&w.Sync); err != nil {
				l.errs = append(l.errs, l.yamlErrors(err, at.path+".sync")...)
			}
		}
		if at.ownSchedule {
			w.Schedule = *e.Schedule
		}
		w.Sinks = l.workspaceSinks(e.Sinks, at.path, w.Name)
		c.Workspaces, l.places = append(c.Workspaces, w), append(l.places, at)
	}
	return &c
}

// workspaceSinks turns a workspace's sink entries into sinks, with their
// settings except for LoadState, which does not read them.
func (l *loader) workspaceSinks(entries []sinkEntry, path, workspace string) []Sink {
	var ss []Sink
	for i, e := range entries {
		s := Sink{Name: e.Name, Type: e.Type}
		if !l.stateOnly {
			l.decodeSink(&s, e.node, joinKey(path, fmt.Sprintf("sinks[%d]", i)), workspace)
		}
		ss = append(ss, s)
	}
	return ss
}

// decodeSink decodes the settings of the sink's type over their defaults.
func (l *loader) decodeSink(s *Sink, n *yaml.Node, path, workspace string) {
	newConfig, ok := sinkTypes[s.Type]
	if !ok {
		return // reported by validate
	}
	s.Config = newConfig()
	if wd, ok := s.Config.(sinks.WorkspaceDefault); ok {
		wd.DefaultWorkspace(workspace)
	}
	if err := n.Decode(s.Config); err != nil {
		l.errs = append(l.errs, l.yamlErrors(err, path)...)
	}
}
