// Package card maps a Connect contact to a vCard 3.0 (RFC 2426) or 4.0
// (RFC 6350) and encodes it. It is the one mapping that every vCard sink
// shares, so a contact reads the same in a vdir folder as on a CardDAV
// server. Identify reads back whose a card is, so that a sink recognises
// its own cards among others.
//
// The encoder is our own rather than go-vcard's, which leaves semicolons in
// text and structured values unescaped, escapes the commas that separate
// categories, knows no version 3.0 and does not fold lines.
package card

import (
	"cmp"
	"fmt"
	"io"
	"strings"

	"github.com/connect-sync/connect-sync/internal/contact"
	"github.com/google/uuid"
)

// The vCard versions Encode writes.
const (
	Version3 = "3.0" // RFC 2426
	Version4 = "4.0" // RFC 6350
)

// Options says how to write a card.
type Options struct {
	// Version is Version3 (the default when empty) or Version4.
	Version string
	// SourceURL is the Connect base URL; the card's UID is derived from it.
	SourceURL string
}

// UID is the stable vCard UID of the contact with the given id at the
// Connect instance at sourceURL: a name-based (SHA-1) UUID URN, so the same
// contact keeps its UID across runs and machines. A trailing slash on
// sourceURL makes no difference.
func UID(sourceURL, id string) string {
	name := strings.TrimRight(sourceURL, "/") + "/contacts/" + id
	return "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, []byte(name)).String()
}

// Encode writes c as one vCard to w, with CRLF line ends and lines folded
// at 75 octets. The output depends only on c and opts, so an unchanged
// contact gives a byte-identical card.
//
// FN is the full name, else first and last name, else the email, else
// "Contact <id>". PHOTO and the social URLs are written only when they are
// http or https URLs. REV is lastActivityAt, else createdAt. X-CONNECT-ID
// holds the contact id. Blank fields are left out, except N, which vCard
// 3.0 requires. Values are cleaned before they are escaped: CRLF and lone
// CR become LF, invalid UTF-8 becomes U+FFFD, and control characters other
// than tab are dropped.
func Encode(w io.Writer, c contact.Contact, opts Options) error {
	opts.Version = cmp.Or(opts.Version, Version3)
	if opts.Version != Version3 && opts.Version != Version4 {
		return fmt.Errorf("card: unsupported version %q", opts.Version)
	}
	var b strings.Builder
	fold(&b, "BEGIN:VCARD")
	for _, p := range properties(c, opts) {
		fold(&b, p.line())
	}
	fold(&b, "END:VCARD")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("card: %w", err)
	}
	return nil
}
