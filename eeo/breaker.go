package eeo

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Defaults of BreakerPolicy.
const (
	DefaultConsecutiveFailures = 5
	DefaultOpenFor             = 10 * time.Second
	DefaultHalfOpenProbes      = 1
)

// halfOpenRetryAfter is the RetryAfter of a call refused because the
// breaker's half-open probes are all in flight: their outcome decides, and
// they are bounded by the operation timeout, so "soon" is the honest answer.
const halfOpenRetryAfter = time.Second

// BreakerPolicy configures the Client's circuit breaker, which stops calls
// to an EEO that keeps failing. Zero values take the defaults.
//
// Every attempt is counted: a transport error (other than the caller's own
// cancellation or deadline), 429 and any 5xx is a failure; any other answer
// from EEO (2xx, 401, 400, 404, 409, 413, 422, …) is a success, since EEO
// answered. A malformed 2xx, a stalled stream (StreamIdleTimeout), the
// caller's cancellation or deadline, a failing upload body and a failing
// TokenSource count as neither.
//
// After ConsecutiveFailures failures in a row the breaker opens: calls fail
// at once, without a token fetch or a request, with an *Error whose Code is
// CodeCircuitOpen and whose RetryAfter is the time until it half-opens.
// OpenFor later it lets HalfOpenProbes calls through; as many successes in a
// row close it, and a failure opens it again.
//
// The breaker keeps time with the time package (time.Now), not Options.Now.
type BreakerPolicy struct {
	// Disabled turns the breaker off.
	Disabled bool
	// ConsecutiveFailures opens the breaker; 0 means
	// DefaultConsecutiveFailures (5).
	ConsecutiveFailures uint32
	// OpenFor is how long the breaker stays open before it half-opens;
	// 0 means DefaultOpenFor (10s).
	OpenFor time.Duration
	// HalfOpenProbes is how many calls a half-open breaker lets through at
	// once, and how many must succeed in a row to close it; 0 means
	// DefaultHalfOpenProbes (1).
	HalfOpenProbes uint32
}

// withDefaults returns p with zero values replaced.
func (p BreakerPolicy) withDefaults() BreakerPolicy {
	if p.ConsecutiveFailures == 0 {
		p.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if p.OpenFor <= 0 {
		p.OpenFor = DefaultOpenFor
	}
	if p.HalfOpenProbes == 0 {
		p.HalfOpenProbes = DefaultHalfOpenProbes
	}
	return p
}

// breaker is an account's circuit breaker; the nil *breaker is a disabled
// one, which lets everything through.
type breaker struct {
	cb        *gobreaker.TwoStepCircuitBreaker[struct{}]
	openUntil atomic.Int64 // UnixNano when the breaker last opened plus OpenFor
}

// Verdicts an attempt reports to the breaker; nil is a success.
var (
	errBreakerFailure = errors.New("eeo: attempt failed")
	errBreakerNeutral = errors.New("eeo: attempt does not count")
)

// newBreaker returns the breaker p describes for account, or nil if p
// disables it. changed is told of every change of state; it is called with
// the breaker's lock held, so it must not call back into the breaker.
func newBreaker(account string, p BreakerPolicy, changed func(from, to gobreaker.State)) *breaker {
	if p.Disabled {
		return nil
	}
	p = p.withDefaults()
	b := &breaker{}
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        account,
		MaxRequests: p.HalfOpenProbes,
		Timeout:     p.OpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= p.ConsecutiveFailures
		},
		IsExcluded: func(err error) bool { return err == errBreakerNeutral },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				// gobreaker keeps its own expiry; this reading of the same
				// clock, taken just after, is never earlier.
				b.openUntil.Store(time.Now().Add(p.OpenFor).UnixNano())
			}
			changed(from, to)
		},
	})
	return b
}

// refuseIfOpen fails fast when the breaker is open, before a call waits for
// a concurrency slot. Each attempt asks the breaker again (admit).
func (b *breaker) refuseIfOpen(op string) error {
	if b != nil && b.cb.State() == gobreaker.StateOpen {
		return b.refusal(op, gobreaker.ErrOpenState)
	}
	return nil
}

// admit asks the breaker for one attempt. done must be called with the
// attempt's verdict (see verdict).
func (b *breaker) admit(op string) (done func(error), err error) {
	if b == nil {
		return func(error) {}, nil
	}
	done, err = b.cb.Allow()
	if err != nil {
		return nil, b.refusal(op, err)
	}
	return done, nil
}

// refusal is the *Error for a call the breaker refused with err.
func (b *breaker) refusal(op string, err error) *Error {
	wait := halfOpenRetryAfter
	if errors.Is(err, gobreaker.ErrOpenState) {
		wait = max(time.Until(time.Unix(0, b.openUntil.Load())), time.Millisecond)
	}
	return &Error{Op: op, Code: CodeCircuitOpen, RetryAfter: wait}
}

// verdict classifies an attempt's outcome for the breaker; caller is the
// caller's context, so that its cancellation is told from the client's own
// timeouts.
func verdict(caller context.Context, err error) error {
	if err == nil {
		return nil
	}
	ee, ok := err.(*Error)
	switch {
	case !ok, caller.Err() != nil: // TokenSource and upload body failures; the caller gave up
		return errBreakerNeutral
	case ee.Code == CodeMalformedResponse, isIdleTimeout(ee.Err):
		return errBreakerNeutral
	case ee.StatusCode == 0 && ee.Code == "", ee.StatusCode == http.StatusTooManyRequests, ee.StatusCode >= 500:
		return errBreakerFailure
	}
	return nil // EEO answered
}
