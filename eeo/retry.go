package eeo

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Defaults of RetryPolicy.
const (
	DefaultMaxAttempts    = 3
	DefaultInitialBackoff = 200 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
	DefaultMaxElapsed     = 20 * time.Second
)

// RetryPolicy says how often and for how long an idempotent call is tried.
// Zero values take the defaults.
//
// Only calls that may safely be repeated are retried: every GET (including
// DownloadReport, until its Body is handed over), CancelImport and
// CancelReport, and CreateReport when it carries a RequestID (sent as the
// Idempotency-Key, so EEO answers a repeat with the original report).
// CreateImport, whose body is a one-shot stream, is never retried (its
// refused-token retry before the body is sent is separate, as is every
// call's single retry with a fresh token after a 401).
//
// A call is retried after a failure that a later attempt may not repeat: a
// transport error (connection refused or reset, a transport timeout, an
// answer cut off), 429, 500, 502, 503 or 504. A 2xx answer that is
// malformed, any other 4xx, and the caller's own cancellation or deadline
// are final.
//
// The pause before attempt n+1 is drawn uniformly from [0, c] ("full
// jitter"), where c starts at InitialBackoff and doubles up to MaxBackoff.
// EEO's Retry-After, when longer, is the pause instead: it is honoured in
// full, even beyond MaxBackoff, since an earlier attempt would only be
// refused again. A pause that would end after MaxElapsed (counted from the
// first attempt) or after the call's deadline is not taken: the call fails
// at once with the last error, whose RetryAfter tells the caller when to
// come back.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts of one call, the first included;
	// 0 means DefaultMaxAttempts (3), 1 means no retry.
	MaxAttempts int
	// InitialBackoff is the ceiling of the first pause; 0 means
	// DefaultInitialBackoff (200ms).
	InitialBackoff time.Duration
	// MaxBackoff caps the ceiling of any jittered pause; 0 means
	// DefaultMaxBackoff (5s).
	MaxBackoff time.Duration
	// MaxElapsed bounds the time from a call's first attempt to the start
	// of its last; 0 means DefaultMaxElapsed (20s).
	MaxElapsed time.Duration
	// Disabled turns retries off, as MaxAttempts 1 does.
	Disabled bool
}

// withDefaults returns p with zero (or negative) values replaced.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.Disabled {
		p.MaxAttempts = 1
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = DefaultInitialBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	p.InitialBackoff = min(p.InitialBackoff, p.MaxBackoff)
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = DefaultMaxElapsed
	}
	return p
}

// retryWorthy reports whether an attempt's failure may pass if the call is
// tried again (not whether the call may be: see request.retryable).
func retryWorthy(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false // the call is over: cancelled or out of time
	}
	ee, ok := err.(*Error)
	if !ok { // TokenSource and upload body failures
		return false
	}
	switch {
	case ee.Code != "" && ee.StatusCode == 0: // the client's own refusals
		return false
	case ee.StatusCode == 0:
		return !isIdleTimeout(ee.Err)
	}
	switch ee.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// pauses is one call's schedule of pauses between attempts.
type pauses struct {
	policy  RetryPolicy
	now     func() time.Time
	start   time.Time // the first attempt
	until   time.Time // when the call's time runs out; zero if never
	backoff *backoff.ExponentialBackOff
}

func newPauses(policy RetryPolicy, now func() time.Time, until time.Time) *pauses {
	return &pauses{policy: policy, now: now, start: now(), until: until}
}

// next returns how long to wait before retrying after ee, or why not to.
func (s *pauses) next(ee *Error) (time.Duration, string) {
	if s.backoff == nil {
		s.backoff = &backoff.ExponentialBackOff{InitialInterval: s.policy.InitialBackoff, Multiplier: 2,
			MaxInterval: s.policy.MaxBackoff} // RandomizationFactor 0: the ceilings; the jitter is below
		s.backoff.Reset()
	}
	ceiling := min(s.backoff.NextBackOff(), s.policy.MaxBackoff)
	wait := time.Duration(rand.Int64N(int64(ceiling) + 1)) // full jitter
	wait = max(wait, ee.RetryAfter)
	if left := s.policy.MaxElapsed - s.now().Sub(s.start); wait >= left {
		return 0, "retry budget exhausted"
	}
	if !s.until.IsZero() && wait >= time.Until(s.until) {
		return 0, "deadline too close"
	}
	return wait, ""
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
