package vcarddir

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// safeID is what a contact id must look like to be used as a file name.
var safeID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// fileName is the name of a contact's card file. It is never taken from
// contact data other than a safe id: any other id is hashed. A safe id with
// an upper-case letter also gets a hash of the exact id, before ".vcf", so
// that ids differing only in case ("a", "A") get names that still differ
// in a folder that ignores case (macOS, Windows); ids without one (Connect's
// are numbers) keep the name they always had. No two names can be one
// file even ignoring case: a hashed name has 66 characters before ".vcf",
// more than any safe id, and only a suffixed name has a second dot.
func fileName(id string) string {
	if !safeID.MatchString(id) {
		sum := sha256.Sum256([]byte(id))
		return "x-" + hex.EncodeToString(sum[:]) + ".vcf"
	}
	if strings.ToLower(id) == id {
		return id + ".vcf"
	}
	sum := sha256.Sum256([]byte(id))
	return id + "." + hex.EncodeToString(sum[:8]) + ".vcf"
}

// legacyName is the name that versions before the hash suffix gave the
// card of a contact whose name now has one: the card may still be there.
func legacyName(id string) (string, bool) {
	if safeID.MatchString(id) && strings.ToLower(id) != id {
		return id + ".vcf", true
	}
	return "", false
}

// lane is what ties the changes that Deliver must make one after another:
// those of the names that are, or were before the hash suffix, one file in
// a folder that ignores case. Contacts "a" and "A" share one: removing A's
// card under its legacy name "A.vcf" touches what is also "a.vcf" there.
func lane(id string) string {
	if safeID.MatchString(id) {
		return strings.ToLower(id)
	}
	return fileName(id) // lower case, and with a dot no safe id has
}

// hashedName is the form of fileName's names for ids it hashes.
var hashedName = regexp.MustCompile(`^x-[0-9a-f]{64}\.vcf$`)

// idOf returns the id whose card is named name, by fileName or
// legacyName; false for a hashed name, which does not say, and for a name
// the sink gives no card.
func idOf(name string) (string, bool) {
	base, ok := strings.CutSuffix(name, ".vcf")
	if !ok {
		return "", false
	}
	if safeID.MatchString(base) {
		return base, true // its card's name, or its legacy one
	}
	id, _, ok := strings.Cut(base, ".")
	if ok && safeID.MatchString(id) && fileName(id) == name {
		return id, true
	}
	return "", false
}

// namedLikeCard reports whether name is one the sink gives a card: any
// other file in the folder is never the sink's.
func namedLikeCard(name string) bool {
	_, ok := idOf(name)
	return ok || hashedName.MatchString(name)
}
