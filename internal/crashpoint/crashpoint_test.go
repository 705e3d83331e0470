package crashpoint

import (
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		name string
		nth  int64
		sig  syscall.Signal
	}{
		{"after-queue", "after-queue", 1, syscall.SIGKILL},
		{"after-deliver:3", "after-deliver", 3, syscall.SIGKILL},
		{"after-deliver:2=TERM", "after-deliver", 2, syscall.SIGTERM},
		{"after-commit=HUP", "after-commit", 1, syscall.SIGHUP},
		{"after-commit:x=QUIT", "after-commit", 1, syscall.SIGKILL},
		{"", "", 1, syscall.SIGKILL},
	}
	for _, tt := range tests {
		name, nth, sig := parse(tt.in)
		if name != tt.name || nth != tt.nth || sig != tt.sig {
			t.Errorf("parse(%q) = %q, %d, %v; want %q, %d, %v", tt.in, name, nth, sig, tt.name, tt.nth, tt.sig)
		}
	}
}
