package webhook

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestSignVector checks the signature against the test vector of the
// Standard Webhooks reference libraries.
func TestSignVector(t *testing.T) {
	key, err := parseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := newSigner(key)("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

func TestParseSecret(t *testing.T) {
	key := func(n int) string { return "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		secret string
		err    string // "" when valid
	}{
		{testSecret, ""},
		{key(24), ""},
		{key(64), ""},
		{key(23), "decodes to 23 bytes; Standard Webhooks keys have 24 to 64"},
		{key(65), "decodes to 65 bytes; Standard Webhooks keys have 24 to 64"},
		{strings.TrimPrefix(testSecret, "whsec_"), `must start with "whsec_", followed by the base64 of 24 to 64 random bytes`},
		{"whsk_" + strings.TrimPrefix(testSecret, "whsec_"), `must start with "whsec_", followed by the base64 of 24 to 64 random bytes`},
		{"whsec_not base64!", `is not valid base64 after "whsec_"`},
		{"whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 25)), `is not valid base64 after "whsec_"`},
	}
	for _, tt := range tests {
		_, err := parseSecret(tt.secret)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.secret, err)
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%s: error %v, want %s", tt.secret, err, tt.err)
		}
	}
}
