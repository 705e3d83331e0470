// Package backoff is how connect-sync waits before retrying a remote
// service (the Connect API, webhook receivers): exponential backoff with
// full jitter, the server's Retry-After, and a sleep that ends with its
// context.
package backoff

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy bounds the waits.
type Policy struct {
	// Min and Max bound the exponential backoff: the ceiling starts at
	// Min and doubles per attempt up to Max, and the wait is drawn
	// uniformly below it (full jitter).
	Min, Max time.Duration
	// MaxRetryAfter caps a server's Retry-After, so that a bogus one
	// cannot stall a run for hours.
	MaxRetryAfter time.Duration
}

// Wait returns the wait before the retry that follows the given attempt
// (1 for the first).
func (p Policy) Wait(attempt int) time.Duration {
	return rand.N(p.Ceiling(attempt) + 1)
}

// Ceiling is the longest wait after the given attempt.
func (p Policy) Ceiling(attempt int) time.Duration {
	ceiling := p.Min
	for i := 1; i < attempt && ceiling < p.Max; i++ {
		ceiling *= 2
	}
	return min(ceiling, p.Max)
}

// RetryAfter reads a Retry-After header, given as seconds or as an HTTP
// date (relative to now), capped at MaxRetryAfter. It returns 0 when the
// header is missing, unreadable or not in the future, so that the usual
// backoff applies.
func (p Policy) RetryAfter(header string, now time.Time) time.Duration {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(header, 10, 64); err == nil {
		if secs > int64(p.MaxRetryAfter/time.Second) {
			return p.MaxRetryAfter
		}
		return time.Duration(max(secs, 0)) * time.Second
	}
	when, err := http.ParseTime(header)
	if err != nil {
		return 0
	}
	return min(max(when.Sub(now), 0), p.MaxRetryAfter)
}

// Sleep waits for d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
