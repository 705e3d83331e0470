package fakeconnect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/connect-sync/connect-sync/internal/event"
)

// entry is one stored contact, kept as the JSON the API serves. Entries are
// never modified, only replaced, so a request can stream a snapshot of them
// without holding the lock.
type entry struct {
	id   string // the id as text; "" when the object has none
	json []byte
	// The searchable fields, lowercased for the query parameter.
	firstName, lastName, email string
}

// newEntry encodes a raw contact object.
func newEntry(raw map[string]any) (*entry, error) {
	b, err := event.Marshal(raw) // compact, <, > and & as they are: as most APIs send
	if err != nil {
		return nil, fmt.Errorf("fakeconnect: encode contact: %w", err)
	}
	return &entry{
		id:        idText(raw["id"]),
		json:      b,
		firstName: lowerString(raw["firstName"]),
		lastName:  lowerString(raw["lastName"]),
		email:     lowerString(raw["email"]),
	}, nil
}

// object decodes the entry into a new raw object. Numbers are json.Number,
// so they are stored back exactly as they were.
func (e *entry) object() map[string]any {
	dec := json.NewDecoder(bytes.NewReader(e.json))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		panic("fakeconnect: stored contact is not a JSON object: " + err.Error())
	}
	return m
}

// matches reports whether the lowercased query q is in the first name, last
// name or email.
func (e *entry) matches(q string) bool {
	return strings.Contains(e.firstName, q) || strings.Contains(e.lastName, q) || strings.Contains(e.email, q)
}

// store keeps contacts in insertion order. Deleted entries leave a nil hole
// until enough pile up to compact, so Delete does not shift 100,000
// pointers each time. It is guarded by Server.mu.
type store struct {
	list   []*entry
	index  map[string]int // id → position of its first entry in list
	holes  int
	dups   bool // some id appears twice, so lookups by id must scan
	nextID int  // the next numeric id to assign
}

func (st *store) reset(entries []*entry) {
	*st = store{list: entries, nextID: 1}
	st.reindex()
}

func (st *store) reindex() {
	st.index = make(map[string]int, len(st.list))
	st.dups = false
	for i, e := range st.list {
		st.track(i, e)
	}
}

// track indexes entry e at position i and reserves its numeric id.
func (st *store) track(i int, e *entry) {
	if e.id == "" {
		return
	}
	if _, ok := st.index[e.id]; ok {
		st.dups = true
	} else {
		st.index[e.id] = i
	}
	if n, err := strconv.Atoi(e.id); err == nil && n >= st.nextID {
		st.nextID = n + 1
	}
}

func (st *store) add(e *entry) {
	st.list = append(st.list, e)
	st.track(len(st.list)-1, e)
}

func (st *store) get(id string) (int, *entry, error) {
	i, ok := st.index[id]
	if !ok {
		return 0, nil, fmt.Errorf("fakeconnect: no contact with id %q", id)
	}
	return i, st.list[i], nil
}

// remove deletes every entry with the id.
func (st *store) remove(id string) error {
	i, _, err := st.get(id)
	if err != nil {
		return err
	}
	st.list[i] = nil
	st.holes++
	if st.dups {
		for j := i + 1; j < len(st.list); j++ {
			if st.list[j] != nil && st.list[j].id == id {
				st.list[j] = nil
				st.holes++
			}
		}
	}
	delete(st.index, id)
	if st.holes > len(st.list)/2 {
		st.compact()
	}
	return nil
}

func (st *store) compact() {
	live := make([]*entry, 0, len(st.list)-st.holes)
	for _, e := range st.list {
		if e != nil {
			live = append(live, e)
		}
	}
	st.list, st.holes = live, 0
	st.reindex()
}

// idText is an id as text: a string as it is, anything else as its JSON,
// so it matches what a client reads from the response; "" when there is
// none.
func idText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v) // v came from an encodable contact
		return string(b)
	}
}

func lowerString(v any) string {
	s, _ := v.(string)
	return strings.ToLower(s)
}
