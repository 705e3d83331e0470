package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// secretPrefix marks a Standard Webhooks symmetric secret.
const secretPrefix = "whsec_"

// The key lengths the spec allows: 192 to 512 bits.
const (
	minKeyLen = 24
	maxKeyLen = 64
)

// parseSecret decodes a secret, "whsec_" and the standard base64 of the
// key. Its errors never quote the secret.
func parseSecret(s string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("must start with %q, followed by the base64 of %d to %d random bytes", secretPrefix, minKeyLen, maxKeyLen)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("is not valid base64 after %q", secretPrefix)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, fmt.Errorf("decodes to %d bytes; Standard Webhooks keys have %d to %d", len(key), minKeyLen, maxKeyLen)
	}
	return key, nil
}

// signer returns the webhook-signature header of a message sent at the
// given unix time. It is a function rather than a struct holding the key,
// so that printing a Sink never prints the key.
type signer func(id string, timestamp int64, body []byte) string

// newSigner signs with HMAC-SHA256 over "id.timestamp.body", as version
// "v1" of the Standard Webhooks signature scheme.
func newSigner(key []byte) signer {
	key = append([]byte(nil), key...)
	return func(id string, timestamp int64, body []byte) string {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write(strconv.AppendInt(nil, timestamp, 10))
		mac.Write([]byte{'.'})
		mac.Write(body)
		return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
}
