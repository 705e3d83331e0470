package lease

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
)

// namePattern is what an instance id and a workspace name look like: both
// become key tokens.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidName reports whether s can be an instance id or a workspace name.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// NewInstanceID returns an instance id made of the host name, with every
// character an id cannot hold replaced by '-', and 6 random hex digits, so
// that two processes on one host differ.
func NewInstanceID() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r < 128 && namePattern.MatchString(string(r)) {
			return r
		}
		return '-'
	}, host)
	if len(host) > 57 {
		host = host[:57]
	}
	if host == "" {
		host = "instance"
	}
	return host + "-" + randomHex(3)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b)
}
