package vcarddir

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

// safeID is what a contact id must look like to be used as a file name.
var safeID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// fileName is the name of a contact's card file. It is never taken from
// contact data other than a safe id: any other id is hashed. A hashed name
// has 66 characters before ".vcf", more than any safe id, so the two kinds
// of name cannot collide.
func fileName(id string) string {
	if safeID.MatchString(id) {
		return id + ".vcf"
	}
	sum := sha256.Sum256([]byte(id))
	return "x-" + hex.EncodeToString(sum[:]) + ".vcf"
}
