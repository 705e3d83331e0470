package fakeconnect

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// Contact returns the raw contact object with the id, decoded from the JSON
// the server sends with numbers as json.Number, and whether there is one.
// Ids are compared as text, so "7" finds both 7 and "7". With duplicate
// ids, the first one is returned.
func (s *Server) Contact(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e, err := s.contacts.get(id)
	if err != nil {
		return nil, false
	}
	return e.object(), true
}

// IDs returns the ids of the contacts in the order they are served. A
// duplicated id appears once per contact; contacts without an id are left
// out.
func (s *Server) IDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.contacts.list))
	for _, e := range s.contacts.list {
		if e != nil && e.id != "" {
			ids = append(ids, e.id)
		}
	}
	return ids
}

// Edit calls fn with the raw contact object, as Contact returns it, and
// stores the result. Edit leaves lastActivityAt alone: call Touch, or set
// it in fn. fn may change the type of the id (7 to "7") but not its text.
func (s *Server) Edit(id string, fn func(c map[string]any)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, e, err := s.contacts.get(id)
	if err != nil {
		return err
	}
	raw := e.object()
	fn(raw)
	if idText(raw["id"]) != id {
		return fmt.Errorf("fakeconnect: edit of contact %q changed its id", id)
	}
	ne, err := newEntry(raw)
	if err != nil {
		return err
	}
	s.contacts.list[i] = ne
	return nil
}

// Touch sets the contact's lastActivityAt to a time later than both its
// current value and every time Touch or a create has used before. The clock
// is deterministic: it starts just after the generated timestamps.
func (s *Server) Touch(id string) error {
	return s.Edit(id, func(c map[string]any) {
		prev, _ := c["lastActivityAt"].(string)
		c["lastActivityAt"] = s.tick(prev)
	})
}

// Delete removes the contact with the id, and its duplicates if any.
func (s *Server) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.contacts.remove(id)
}

// Add appends the raw object c, whatever its shape, and returns its id.
// Without an "id" key it gets the next numeric id. An id that is already
// present is added again, as a duplicate. Add panics if c cannot be encoded
// as JSON.
func (s *Server) Add(c map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(c).id
}

// SetContacts replaces every contact by list, served exactly as given and
// in that order: ids are not assigned, duplicates are kept, and a nil map
// is served as null. It panics if a contact cannot be encoded as JSON.
func (s *Server) SetContacts(list []map[string]any) {
	entries := make([]*entry, len(list))
	for i, c := range list {
		entries[i] = mustEntry(c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contacts.reset(entries)
}

// add stores raw, with the next numeric id if it has none. The caller
// holds s.mu.
func (s *Server) add(raw map[string]any) *entry {
	if _, ok := raw["id"]; !ok {
		raw = maps.Clone(raw)
		if raw == nil {
			raw = map[string]any{}
		}
		raw["id"] = s.contacts.nextID
	}
	e := mustEntry(raw)
	s.contacts.add(e)
	return e
}

// tick advances the clock past the RFC 3339 time prev, if any, and returns
// the new time in RFC 3339. The caller holds s.mu.
func (s *Server) tick(prev string) string {
	s.now = s.now.Add(time.Minute)
	if t, err := time.Parse(time.RFC3339, prev); err == nil && !t.Before(s.now) {
		s.now = t.Add(time.Minute).Truncate(time.Second)
	}
	return s.now.UTC().Format(time.RFC3339)
}

func mustEntry(raw map[string]any) *entry {
	e, err := newEntry(raw)
	if err != nil {
		panic(err)
	}
	return e
}

// Generated returns the contacts a server made with these Options would
// serve, each exactly as the API sends it: realistic input for benchmarks
// of the code that reads contacts, without a server.
func Generated(opts Options) []json.RawMessage {
	entries := generate(opts.Contacts, opts.Seed)
	list := make([]json.RawMessage, len(entries))
	for i, e := range entries {
		list[i] = e.json
	}
	return list
}
