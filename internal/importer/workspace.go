package importer

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// workspace is what an import needs to know of the contacts already in the
// workspace. It is gathered from the streamed contact list, keeping only
// what was asked for, so memory grows with the emails at most.
type workspace struct {
	// emails maps each lowercased email to the first contact with it; nil
	// unless asked for.
	emails map[string]string
	// present holds the contacts asked about that exist.
	present map[string]bool
	// printed maps the fingerprints asked about to a contact that has one.
	printed map[string]string
}

// scanWorkspace reads the whole contact list, the config's query left
// aside: a duplicate outside the synced subset is still a duplicate. It
// notes which of the contacts ids exist, which contacts have one of the
// fingerprints prints, and, when emails is true, every email.
func scanWorkspace(ctx context.Context, api API, ids, prints map[string]bool, emails bool) (*workspace, error) {
	ws := &workspace{present: map[string]bool{}, printed: map[string]string{}}
	if emails {
		ws.emails = map[string]string{}
	}
	err := api.Contacts(ctx, "", func(raw json.RawMessage) error {
		c, err := contact.Parse(raw)
		if err != nil {
			return nil // a contact without an id can be neither named nor matched
		}
		if ids[c.ID] {
			ws.present[c.ID] = true
		}
		if email := strings.ToLower(strings.TrimSpace(c.Email)); ws.emails != nil && email != "" {
			if _, ok := ws.emails[email]; !ok {
				ws.emails[email] = c.ID
			}
		}
		if len(prints) > 0 {
			if fp := contactFields(c).Fingerprint(); prints[fp] {
				if _, ok := ws.printed[fp]; !ok {
					ws.printed[fp] = c.ID
				}
			}
		}
		return nil
	})
	return ws, err
}
