package source

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/connect-sync/connect-sync/internal/contact"
)

// LeadStatuses fetches the workspace's lead statuses, in the API's order.
func (c *Client) LeadStatuses(ctx context.Context) ([]contact.LeadStatus, error) {
	r := request{endpoint: "lead-statuses", method: http.MethodGet, path: contactsPath + "/lead-statuses"}
	var statuses []contact.LeadStatus
	err := c.do(ctx, r, func(resp *http.Response) error {
		var items []map[string]json.RawMessage
		if err := decodeBody(resp, '[', &items); err != nil {
			return err
		}
		var err error
		statuses, err = leadStatuses(items)
		return err
	})
	return statuses, err
}

// leadStatuses reads the lead-status objects as leniently as contacts are
// read: ids and orders may come as numbers or strings.
func leadStatuses(items []map[string]json.RawMessage) ([]contact.LeadStatus, error) {
	statuses := make([]contact.LeadStatus, 0, len(items))
	for i, obj := range items {
		ls := contact.LeadStatus{
			ID:    contact.Text(obj["id"]),
			Type:  contact.Text(obj["type"]),
			Label: contact.Text(obj["label"]),
			Color: contact.Text(obj["color"]),
		}
		if ls.ID == "" {
			return nil, fmt.Errorf("lead status %d in the response has no id", i+1)
		}
		ls.Order, _ = strconv.Atoi(contact.Text(obj["order"]))
		statuses = append(statuses, ls)
	}
	return statuses, nil
}

// Me is who the API key belongs to.
type Me struct {
	UserName  string
	UserEmail string
	Workspace string // the workspace's name
}

// Me fetches the key's user and workspace, which makes it a cheap check
// that the key works.
func (c *Client) Me(ctx context.Context) (Me, error) {
	r := request{endpoint: "me", method: http.MethodGet, path: "/api/connect/me"}
	var body struct {
		Details struct {
			Name  json.RawMessage `json:"name"`
			Email json.RawMessage `json:"email"`
		} `json:"details"`
		Workspace struct {
			Name json.RawMessage `json:"name"`
		} `json:"workspace"`
	}
	err := c.do(ctx, r, func(resp *http.Response) error {
		return decodeBody(resp, '{', &body)
	})
	if err != nil {
		return Me{}, err
	}
	return Me{
		UserName:  contact.Text(body.Details.Name),
		UserEmail: contact.Text(body.Details.Email),
		Workspace: contact.Text(body.Workspace.Name),
	}, nil
}

// CreateContact creates a contact from fields, named as the API names them
// (email, firstName, leadStatus, ...), and returns it as the API created it.
// It is retried only when the API cannot have created the contact (429, 503,
// or no connection made), since a retry could otherwise create a duplicate.
func (c *Client) CreateContact(ctx context.Context, fields map[string]any) (contact.Contact, error) {
	body, err := json.Marshal(fields)
	if err != nil {
		return contact.Contact{}, fmt.Errorf("source: create-contact: encode fields: %w", err)
	}
	r := request{endpoint: "create-contact", method: http.MethodPost, path: contactsPath, body: body}
	var created contact.Contact
	err = c.do(ctx, r, func(resp *http.Response) error {
		var raw json.RawMessage
		if err := decodeBody(resp, '{', &raw); err != nil {
			return err
		}
		parsed, err := contact.Parse(raw)
		created = parsed
		return err
	})
	return created, err
}
