package backoff

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

var policy = Policy{Min: time.Second, Max: 30 * time.Second, MaxRetryAfter: 2 * time.Minute}

func TestCeilingAndWait(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := policy.Ceiling(i + 1); got != w {
			t.Errorf("Ceiling(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := policy.Ceiling(1000); got != policy.Max {
		t.Errorf("Ceiling(1000) = %v, want %v", got, policy.Max)
	}
	for range 100 {
		if got := policy.Wait(3); got < 0 || got > 4*time.Second {
			t.Fatalf("Wait(3) = %v, outside [0, 4s]", got)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{" 12 ", 12 * time.Second},
		{"99999999999999999", policy.MaxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(24 * time.Hour).Format(http.TimeFormat), policy.MaxRetryAfter},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := policy.RetryAfter(tt.header, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(t.Context(), time.Millisecond); err != nil {
		t.Errorf("Sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep with an ended context: %v", err)
	}
}
