package fakeconnect

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/connect-sync/connect-sync/internal/event"
)

// Generated contacts were created between generateStart and generateEnd,
// in id order; the clock for later changes starts at generateEnd.
var (
	generateStart = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	generateEnd   = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
)

// generated is a generated contact, in the field order of the API docs.
// Absent fields are left out; LeadStatus is sometimes an explicit null.
type generated struct {
	ID             int    `json:"id"`
	Email          string `json:"email,omitempty"`
	Photo          string `json:"photo,omitempty"`
	FirstName      string `json:"firstName"`
	LastName       string `json:"lastName,omitempty"`
	FullName       string `json:"fullName"`
	JobTitle       string `json:"jobTitle,omitempty"`
	CompanyName    string `json:"companyName,omitempty"`
	PhoneNumbers   any    `json:"phoneNumbers,omitempty"`
	FacebookURL    string `json:"facebookUrl,omitempty"`
	InstagramURL   string `json:"instagramUrl,omitempty"`
	LinkedinURL    string `json:"linkedinUrl,omitempty"`
	TwitterURL     string `json:"twitterUrl,omitempty"`
	Note           string `json:"note,omitempty"`
	LastActivityAt string `json:"lastActivityAt,omitempty"`
	CreatedAt      string `json:"createdAt"`
	LeadStatus     any    `json:"leadStatus,omitempty"`
}

// phone is one element of the object form of phoneNumbers.
type phone struct {
	Number string `json:"number"`
	Type   string `json:"type"`
}

// null encodes as an explicit JSON null where omitempty would drop nil.
var null = json.RawMessage("null")

// generate makes n contacts with ids 1 to n. The same n and seed always
// give the same contacts.
func generate(n int, seed int64) []*entry {
	g := generator{r: rand.New(rand.NewPCG(uint64(seed), 0x5eed))}
	entries := make([]*entry, max(n, 0))
	for i := range entries {
		c := g.contact(i+1, n)
		b, err := event.Marshal(c)
		if err != nil {
			panic("fakeconnect: encode generated contact: " + err.Error())
		}
		entries[i] = &entry{
			id:        strconv.Itoa(c.ID),
			json:      b,
			firstName: strings.ToLower(c.FirstName),
			lastName:  strings.ToLower(c.LastName),
			email:     c.Email, // already lowercase
		}
	}
	return entries
}

type generator struct{ r *rand.Rand }

// contact generates contact id of n. Fields are left out or null at
// roughly the rates a real CRM shows.
func (g *generator) contact(id, n int) generated {
	first, last := pick(g.r, firstNames), pick(g.r, lastNames)
	c := generated{ID: id, FirstName: first.text, FullName: first.text}
	if g.r.IntN(20) > 0 {
		c.LastName = last.text
		c.FullName = first.text + " " + last.text
	} else {
		last = name{}
	}
	if g.r.IntN(30) > 0 {
		c.Email = g.email(first, last)
	}
	if g.r.IntN(10) > 0 {
		c.CompanyName = pick(g.r, companies)
	}
	if g.r.IntN(10) > 0 {
		c.JobTitle = pick(g.r, jobTitles)
	}
	created := g.createdAt(id, n)
	c.CreatedAt = created.Format(time.RFC3339)
	if g.r.IntN(4) > 0 {
		c.LastActivityAt = g.between(created, generateEnd).Format(time.RFC3339)
	}
	if x := g.r.IntN(20); x < 2 {
		c.LeadStatus = null
	} else if x > 2 { // x == 2 leaves it out
		c.LeadStatus = pick(g.r, leadStatuses).ref()
	}
	c.PhoneNumbers = g.phoneNumbers()
	g.links(&c, first, last)
	if g.r.IntN(2) == 0 {
		c.Note = pick(g.r, notes)
	}
	return c
}

// createdAt spreads the contacts evenly over the generation period, so
// creation times grow with ids as they do in a real database.
func (g *generator) createdAt(id, n int) time.Time {
	step := generateEnd.Sub(generateStart) / time.Duration(n)
	t := generateStart.Add(step*time.Duration(id-1) + time.Duration(g.r.Int64N(int64(step))))
	return t.Truncate(time.Second)
}

func (g *generator) between(from, to time.Time) time.Time {
	d := to.Sub(from)
	if d <= 0 {
		return to
	}
	return from.Add(time.Duration(g.r.Int64N(int64(d)))).Truncate(time.Second)
}

func (g *generator) email(first, last name) string {
	local := first.ascii
	if last.ascii != "" {
		switch g.r.IntN(4) {
		case 0:
			local += "." + last.ascii
		case 1:
			local = first.ascii[:1] + last.ascii
		case 2:
			local += "_" + last.ascii
		default:
			local += last.ascii
		}
	}
	if g.r.IntN(3) == 0 {
		local += strconv.Itoa(g.r.IntN(100))
	}
	return local + "@" + pick(g.r, emailDomains)
}

// phoneNumbers returns nothing, a string, an array of strings or an array
// of objects: the API does not document the shape, so all are served.
func (g *generator) phoneNumbers() any {
	switch g.r.IntN(5) {
	case 0:
		return nil
	case 1:
		return g.phone()
	case 2:
		list := make([]string, 1+g.r.IntN(2))
		for i := range list {
			list[i] = g.phone()
		}
		return list
	default:
		list := make([]phone, 1+g.r.IntN(3))
		for i := range list {
			list[i] = phone{Number: g.phone(), Type: pick(g.r, phoneTypes)}
		}
		return list
	}
}

// phone returns a number in one of several national formats, from ranges
// reserved for fiction where there is one.
func (g *generator) phone() string {
	switch g.r.IntN(5) {
	case 0:
		return "+1 555 01" + g.digits(2)
	case 1:
		return "(555) 555-01" + g.digits(2)
	case 2:
		return "+44 20 7946 0" + g.digits(3)
	case 3:
		return "+49 30 " + g.digits(7)
	default:
		return "+81 3-" + g.digits(4) + "-" + g.digits(4)
	}
}

func (g *generator) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

// links sets the social URLs and the photo some contacts have.
func (g *generator) links(c *generated, first, last name) {
	handle := first.ascii + last.ascii
	id := strconv.Itoa(c.ID)
	if g.r.IntN(5) < 2 {
		c.LinkedinURL = "https://www.linkedin.com/in/" + handle + "-" + id
	}
	if g.r.IntN(7) == 0 {
		c.FacebookURL = "https://www.facebook.com/" + handle
	}
	if g.r.IntN(7) == 0 {
		c.InstagramURL = "https://www.instagram.com/" + handle
	}
	if g.r.IntN(20) == 0 {
		c.TwitterURL = "https://twitter.com/" + handle
	}
	switch g.r.IntN(6) {
	case 0:
		c.Photo = "http://photos.example.net/" + id + ".png"
	case 1, 2:
		c.Photo = "https://cdn.example.com/avatars/" + id + ".jpg"
	}
}

func pick[T any](r *rand.Rand, list []T) T {
	return list[r.IntN(len(list))]
}
