package fakeconnect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// leadStatus is one entry of GET /api/connect/contacts/lead-statuses.
type leadStatus struct {
	ID    int    `json:"id"`
	Type  string `json:"type"` // lead, qualified or disqualified
	Label string `json:"label"`
	Color string `json:"color"`
	Order int    `json:"order"`
}

// leadStatuses is the workspace's fixed list of lead statuses.
var leadStatuses = []leadStatus{
	{ID: 1, Type: "lead", Label: "New Lead", Color: "#3B82F6", Order: 1},
	{ID: 2, Type: "lead", Label: "Contacted", Color: "#F59E0B", Order: 2},
	{ID: 3, Type: "qualified", Label: "Qualified Lead", Color: "#10B981", Order: 3},
	{ID: 4, Type: "disqualified", Label: "Lost", Color: "#EF4444", Order: 4},
}

// statusRef is the leadStatus object a contact carries.
type statusRef struct {
	ID    int    `json:"id"`
	Label string `json:"label"`
	Color string `json:"color"`
}

func (ls leadStatus) ref() statusRef {
	return statusRef{ID: ls.ID, Label: ls.Label, Color: ls.Color}
}

// listContacts streams the contacts as one JSON array, from a snapshot
// taken under the lock so edits during a long response do not block.
func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	snapshot := slices.Clone(s.contacts.list)
	s.mu.Unlock()

	q := strings.ToLower(r.URL.Query().Get("query"))
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteByte('[')
	first := true
	for _, e := range snapshot {
		if e == nil || (q != "" && !e.matches(q)) {
			continue
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		if _, err := bw.Write(e.json); err != nil {
			return // the client is gone
		}
	}
	bw.WriteString("]\n")
	_ = bw.Flush() // a write error means the client is gone
}

// createFields are the body fields POST /api/connect/contacts stores as
// they are; leadStatus is resolved to an object, and the rest is ignored.
var createFields = []string{
	"email", "firstName", "lastName", "jobTitle", "companyName", "phoneNumbers",
	"facebookUrl", "instagramUrl", "linkedinUrl", "twitterUrl", "note",
}

// emailPattern is the usual loose check web APIs apply.
var emailPattern = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)

func (s *Server) createContact(w http.ResponseWriter, body []byte) {
	in, ok := decodeObject(body)
	if !ok {
		writeError(w, http.StatusBadRequest, "Invalid JSON body")
		return
	}
	if !isText(in["email"]) && !isText(in["firstName"]) {
		writeError(w, http.StatusBadRequest, "At least email or firstName is required")
		return
	}
	if !validEmail(in["email"]) {
		writeError(w, http.StatusBadRequest, "Invalid email")
		return
	}
	status, ok := findLeadStatus(in["leadStatus"])
	if !ok {
		writeError(w, http.StatusBadRequest, "Invalid lead status")
		return
	}

	c := make(map[string]any, len(createFields)+5)
	for _, k := range createFields {
		if v, ok := in[k]; ok {
			c[k] = v
		}
	}
	first, _ := in["firstName"].(string)
	last, _ := in["lastName"].(string)
	c["fullName"] = strings.TrimSpace(first + " " + last)
	c["leadStatus"] = nil
	if status != nil {
		c["leadStatus"] = status.ref()
	}

	s.mu.Lock()
	c["createdAt"] = s.tick("")
	e := s.add(c)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(e.json) // a write error means the client is gone
}

// decodeObject decodes a body that must be exactly one JSON object.
// Numbers stay json.Number so they are stored as written.
func decodeObject(body []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, false
	}
	return m, true
}

// validEmail accepts a missing or empty email, or a well-formed one.
func validEmail(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == "" || emailPattern.MatchString(v)
	default:
		return false
	}
}

func isText(v any) bool {
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) != ""
}

// findLeadStatus resolves a leadStatus field given as a number or its text.
// Absent or null means no status, which is valid.
func findLeadStatus(v any) (*leadStatus, bool) {
	if v == nil {
		return nil, true
	}
	var id string
	switch v := v.(type) {
	case json.Number:
		id = v.String()
	case string:
		id = v
	default:
		return nil, false
	}
	for i, ls := range leadStatuses {
		if id == strconv.Itoa(ls.ID) {
			return &leadStatuses[i], true
		}
	}
	return nil, false
}
