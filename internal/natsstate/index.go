package natsstate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/connect-sync/connect-sync/internal/state"
)

// index is the part of a workspace's state kept in memory: every key
// under x., decoded. It changes only through apply, with the same puts
// and deletes that go to the bucket, so the index after a write is the
// index a fresh load would build.
type index struct {
	meta    meta
	entries map[string]state.Entry
	// ids is the entries' ids, sorted, nil until asked for and again once
	// an id comes or goes: an audit asks every run, a commit rarely adds.
	ids    []string
	sinks  map[string]sinkRecord  // by name
	gens   map[uint64]*generation // every generation something refers to
	refs   map[uint64][]uint64    // sequence number → generations whose queue holds it
	dead   map[uint64]int         // sequence number → dead letters that keep its record
	maxSeq uint64                 // the highest sequence number a key holds
}

// meta is the value of x.meta.
type meta struct {
	NextSeq     uint64     `json:"next_seq,omitempty"`
	NextGen     uint64     `json:"next_gen,omitempty"`
	LastRun     *state.Run `json:"last_run,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
}

// sinkRecord is the value of x.k.<sink>.
type sinkRecord struct {
	Gen  uint64          `json:"gen"`
	Info json.RawMessage `json:"info"`
}

// letter is the value of x.d.<gen>.<seq>.
type letter struct {
	Error string    `json:"error"`
	At    time.Time `json:"at"`
}

// generation is one registration of a sink: its queue, dead letters and
// memo. One no sink has any more (name "") is garbage.
type generation struct {
	name  string
	queue seqSet
	dead  map[uint64]letter
	memo  map[string][]byte
}

func (g *generation) empty() bool {
	return g.queue.len() == 0 && len(g.dead) == 0 && len(g.memo) == 0
}

func newIndex() *index {
	return &index{
		entries: map[string]state.Entry{},
		sinks:   map[string]sinkRecord{},
		gens:    map[uint64]*generation{},
		refs:    map[uint64][]uint64{},
		dead:    map[uint64]int{},
	}
}

// op is one put or delete of a key relative to the workspace.
type op struct {
	key   string
	value []byte
	del   bool
}

func put(key string, value []byte) op { return op{key: key, value: value} }
func del(key string) op               { return op{key: key, del: true} }

func putJSON(key string, v any) op {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("natsstate: encode %s: %v", key, err)) // only our own types
	}
	return put(key, b)
}

// apply records a put or delete of an index key; keys outside the index
// are ignored.
func (ix *index) apply(o op) error {
	if len(o.key) < 2 || o.key[:2] != "x." {
		return nil
	}
	k, err := parseKey(o.key)
	if err != nil {
		return err
	}
	if o.del {
		ix.remove(k)
		return nil
	}
	if err := ix.set(k, o.value); err != nil {
		return fmt.Errorf("%s: %w", o.key, err)
	}
	return nil
}

func (ix *index) set(k parsedKey, v []byte) error {
	switch k.kind {
	case "meta":
		var m meta
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		ix.meta = m
	case "e":
		e, err := state.DecodeEntry(v)
		if err != nil {
			return err
		}
		if _, known := ix.entries[k.name]; !known {
			ix.ids = nil
		}
		ix.entries[k.name] = e
	case "k":
		var r sinkRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		ix.unname(k.name)
		ix.sinks[k.name] = r
		ix.gen(r.Gen).name = k.name
	case "q":
		var gens []uint64
		if err := json.Unmarshal(v, &gens); err != nil {
			return err
		}
		ix.setRefs(k.seq, gens)
	case "d":
		var l letter
		if err := json.Unmarshal(v, &l); err != nil {
			return err
		}
		g := ix.gen(k.gen)
		if _, ok := g.dead[k.seq]; !ok {
			ix.dead[k.seq]++
		}
		g.dead[k.seq] = l
		ix.maxSeq = max(ix.maxSeq, k.seq)
	case "m":
		ix.gen(k.gen).memo[k.name] = bytes.Clone(v)
	}
	return nil
}

// sortedIDs returns the entries' ids, sorted; the caller may not change
// the slice.
func (ix *index) sortedIDs() []string {
	if ix.ids == nil {
		ix.ids = slices.Sorted(maps.Keys(ix.entries))
	}
	return ix.ids
}

func (ix *index) remove(k parsedKey) {
	switch k.kind {
	case "meta":
		ix.meta = meta{}
	case "e":
		delete(ix.entries, k.name)
		ix.ids = nil
	case "k":
		ix.unname(k.name)
	case "q":
		ix.setRefs(k.seq, nil)
	case "d":
		if g := ix.gens[k.gen]; g != nil {
			if _, ok := g.dead[k.seq]; ok {
				delete(g.dead, k.seq)
				if ix.dead[k.seq]--; ix.dead[k.seq] == 0 {
					delete(ix.dead, k.seq)
				}
			}
			ix.tidy(k.gen)
		}
	case "m":
		if g := ix.gens[k.gen]; g != nil {
			delete(g.memo, k.name)
			ix.tidy(k.gen)
		}
	}
}

// unname makes the generation registered under name garbage.
func (ix *index) unname(name string) {
	r, ok := ix.sinks[name]
	if !ok {
		return
	}
	delete(ix.sinks, name)
	if g := ix.gens[r.Gen]; g != nil && g.name == name {
		g.name = ""
		ix.tidy(r.Gen)
	}
}

// setRefs makes the generations in gens the ones whose queues hold seq.
func (ix *index) setRefs(seq uint64, gens []uint64) {
	for _, g := range ix.refs[seq] {
		if !slices.Contains(gens, g) {
			ix.gens[g].queue.remove(seq)
			ix.tidy(g)
		}
	}
	for _, g := range gens {
		ix.gen(g).queue.add(seq)
	}
	if len(gens) == 0 {
		delete(ix.refs, seq)
		return
	}
	ix.refs[seq] = slices.Clone(gens)
	ix.maxSeq = max(ix.maxSeq, seq)
}

// gen returns a generation's state, created empty when missing.
func (ix *index) gen(n uint64) *generation {
	g := ix.gens[n]
	if g == nil {
		g = &generation{dead: map[uint64]letter{}, memo: map[string][]byte{}}
		ix.gens[n] = g
	}
	return g
}

// tidy forgets a generation no sink has and nothing refers to.
func (ix *index) tidy(n uint64) {
	if g := ix.gens[n]; g != nil && g.name == "" && g.empty() {
		delete(ix.gens, n)
	}
}

// sink returns a registered sink's generation number and state, or an
// error wrapping state.ErrNotFound.
func (ix *index) sink(name string) (uint64, *generation, error) {
	r, ok := ix.sinks[name]
	if !ok {
		return 0, nil, fmt.Errorf("sink %s: %w", name, state.ErrNotFound)
	}
	return r.Gen, ix.gens[r.Gen], nil
}

// live lists the generations of the registered sinks, in order.
func (ix *index) live() []uint64 {
	var gens []uint64
	for _, r := range ix.sinks {
		gens = append(gens, r.Gen)
	}
	slices.Sort(gens)
	return gens
}

// garbage lists the generations no sink has any more, in order.
func (ix *index) garbage() []uint64 {
	var gens []uint64
	for n, g := range ix.gens {
		if g.name == "" {
			gens = append(gens, n)
		}
	}
	slices.Sort(gens)
	return gens
}

// nextSeq hands out a sequence number: above every one the meta or any key
// has seen, so numbers increase even across lost meta writes.
func (ix *index) nextSeq() uint64 {
	seq := max(ix.meta.NextSeq, ix.maxSeq+1, 1)
	ix.meta.NextSeq = seq + 1
	ix.maxSeq = seq
	return seq
}

func (ix *index) nextGen() uint64 {
	n := max(ix.meta.NextGen, 1)
	for ix.gens[n] != nil {
		n++
	}
	ix.meta.NextGen = n + 1
	return n
}
