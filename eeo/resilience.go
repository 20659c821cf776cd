package eeo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/semaphore"
)

// Defaults of the fault-tolerance options; see Options, RetryPolicy and
// BreakerPolicy.
const (
	DefaultMaxAttempts         = 3
	DefaultInitialBackoff      = 200 * time.Millisecond
	DefaultMaxBackoff          = 5 * time.Second
	DefaultMaxElapsed          = 20 * time.Second
	DefaultConsecutiveFailures = 5
	DefaultOpenFor             = 10 * time.Second
	DefaultHalfOpenProbes      = 1
	DefaultMaxConcurrent       = 16
	DefaultOperationTimeout    = 30 * time.Second
	DefaultStreamIdleTimeout   = 2 * time.Minute
)

// halfOpenRetryAfter is the RetryAfter of a call refused because the
// breaker's half-open probes are all in flight: their outcome decides, and
// they are bounded by the operation timeout, so "soon" is the honest answer.
const halfOpenRetryAfter = time.Second

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

// guard is a Client's fault tolerance: the breaker, the concurrency limit
// and the retry schedule.
type guard struct {
	retry     RetryPolicy
	breaker   *gobreaker.TwoStepCircuitBreaker[struct{}] // nil when disabled
	openFor   time.Duration
	openUntil atomic.Int64 // UnixNano when the breaker last opened plus openFor
	sem       *semaphore.Weighted
	opTimeout time.Duration
	idle      time.Duration
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
}

// Verdicts an attempt reports to the breaker; nil is a success.
var (
	errBreakerFailure = errors.New("eeo: attempt failed")
	errBreakerNeutral = errors.New("eeo: attempt does not count")
)

// initGuard sets up c's fault tolerance from opts.
func (c *Client) initGuard(opts Options) {
	g := &c.guard
	g.retry = opts.Retry.withDefaults()
	g.opTimeout = opts.OperationTimeout
	if g.opTimeout <= 0 {
		g.opTimeout = DefaultOperationTimeout
	}
	g.idle = opts.StreamIdleTimeout
	if g.idle <= 0 {
		g.idle = DefaultStreamIdleTimeout
	}
	n := opts.MaxConcurrent
	if n <= 0 {
		n = DefaultMaxConcurrent
	}
	g.sem = semaphore.NewWeighted(int64(n))
	g.now = opts.Now
	if g.now == nil {
		g.now = time.Now
	}
	g.sleep = opts.Sleep
	if g.sleep == nil {
		g.sleep = sleep
	}
	if opts.Breaker.Disabled {
		return
	}
	bp := opts.Breaker.withDefaults()
	g.openFor = bp.OpenFor
	g.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        c.account,
		MaxRequests: bp.HalfOpenProbes,
		Timeout:     bp.OpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= bp.ConsecutiveFailures
		},
		IsExcluded: func(err error) bool { return err == errBreakerNeutral },
		// Called with the breaker's lock held, so it must not call back.
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				// gobreaker keeps its own expiry; this reading of the same
				// clock, taken just after, is never earlier.
				g.openUntil.Store(time.Now().Add(bp.OpenFor).UnixNano())
			}
			c.log.Warn("eeo circuit breaker changed state", "account", c.account, "from", from.String(), "to", to.String())
		},
	})
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

// circuitOpen is the *Error for a call the breaker refused with err.
func (c *Client) circuitOpen(op string, err error) *Error {
	wait := halfOpenRetryAfter
	if errors.Is(err, gobreaker.ErrOpenState) {
		wait = max(time.Until(time.Unix(0, c.guard.openUntil.Load())), time.Millisecond)
	}
	return &Error{Op: op, Code: CodeCircuitOpen, RetryAfter: wait}
}

// checkBreaker fails fast when the breaker is open, before a call waits for
// a concurrency slot. Each attempt asks the breaker again (admit).
func (c *Client) checkBreaker(op string) error {
	if b := c.guard.breaker; b != nil && b.State() == gobreaker.StateOpen {
		return c.circuitOpen(op, gobreaker.ErrOpenState)
	}
	return nil
}

// admit asks the breaker for one attempt. done must be called with the
// attempt's verdict (see verdict).
func (c *Client) admit(op string) (done func(error), err error) {
	b := c.guard.breaker
	if b == nil {
		return func(error) {}, nil
	}
	done, err = b.Allow()
	if err != nil {
		return nil, c.circuitOpen(op, err)
	}
	return done, nil
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

// acquire takes one of the Client's concurrency slots, waiting within ctx.
// The returned release may be called more than once.
func (c *Client) acquire(ctx context.Context, op string) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: op, Err: err} // over before it began: no limit involved
	}
	if err := c.guard.sem.Acquire(ctx, 1); err != nil {
		c.log.DebugContext(ctx, "eeo call gave up waiting for a concurrency slot", "op", op, "error", err)
		return nil, &Error{Op: op, Code: CodeConcurrencyLimited, Err: err}
	}
	return sync.OnceFunc(func() { c.guard.sem.Release(1) }), nil
}

// attempts makes attempt under the breaker until it succeeds or may not be
// retried (see RetryPolicy). ctx is the call's context, with its deadline;
// until, if not zero, is when that deadline passes (ctx.Deadline cannot
// tell for a watchdog's); caller is the caller's own context.
func (c *Client) attempts(ctx, caller context.Context, r *request, until time.Time, attempt func(context.Context) error) error {
	g := &c.guard
	start := g.now()
	var schedule *backoff.ExponentialBackOff
	var last error
	for n := 1; ; n++ {
		done, err := c.admit(r.op)
		if err != nil {
			if last != nil {
				// The breaker opened during this call's retries: the last
				// failure says more than "circuit open".
				c.log.DebugContext(ctx, "eeo circuit breaker stopped the retries", "op", r.op, "attempt", n)
				return last
			}
			return err
		}
		err = attempt(ctx)
		done(verdict(caller, err))
		if err == nil {
			return nil
		}
		last = err
		if !r.retryable() || n >= g.retry.MaxAttempts || !retryWorthy(ctx, err) {
			return err
		}
		if schedule == nil {
			schedule = &backoff.ExponentialBackOff{InitialInterval: g.retry.InitialBackoff, Multiplier: 2,
				MaxInterval: g.retry.MaxBackoff} // RandomizationFactor 0: the ceilings; the jitter is below
			schedule.Reset()
		}
		wait, why := c.pause(err, schedule, start, until)
		ee := err.(*Error) // retryWorthy checked
		if why != "" {
			c.log.DebugContext(ctx, "eeo call not retried", "op", r.op, "attempt", n, "status", ee.StatusCode, "reason", why, "retry_after", ee.RetryAfter)
			return err
		}
		c.log.InfoContext(ctx, "eeo call failed; retrying", "op", r.op, "attempt", n, "wait", wait,
			"status", ee.StatusCode, "code", ee.Code, "retry_after", ee.RetryAfter)
		if err := g.sleep(ctx, wait); err != nil {
			return transportError(ctx, r.op, err)
		}
	}
}

// pause returns how long to wait before retrying after err, or why not to.
func (c *Client) pause(err error, schedule *backoff.ExponentialBackOff, start, until time.Time) (time.Duration, string) {
	g := &c.guard
	ceiling := min(schedule.NextBackOff(), g.retry.MaxBackoff)
	wait := time.Duration(rand.Int64N(int64(ceiling) + 1)) // full jitter
	ee := err.(*Error)
	wait = max(wait, ee.RetryAfter)
	if left := g.retry.MaxElapsed - g.now().Sub(start); wait >= left {
		return 0, "retry budget exhausted"
	}
	if !until.IsZero() && wait >= time.Until(until) {
		return 0, "deadline too close"
	}
	return wait, ""
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

// timeoutError is a time limit the client enforces itself: the operation
// timeout or the stream idle timeout. It is a timeout to net.Error and to
// errors.Is(err, context.DeadlineExceeded), but not a cancellation.
type timeoutError struct {
	msg  string
	idle bool
}

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// Is makes the error a context.DeadlineExceeded.
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

func operationTimeout(d time.Duration) error {
	return &timeoutError{msg: "no answer within the operation timeout of " + d.String()}
}

func idleTimeout(d time.Duration) error {
	return &timeoutError{msg: fmt.Sprintf("stream stalled: no data moved for %v", d), idle: true}
}

func isIdleTimeout(err error) bool {
	var te *timeoutError
	return errors.As(err, &te) && te.idle
}

// ownTimeout returns the client's timeoutError that ended ctx, or nil.
func ownTimeout(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	var te *timeoutError
	if errors.As(context.Cause(ctx), &te) {
		return te
	}
	return nil
}

// watchdog is a context that a timer cancels: either a fixed time after it
// is armed (deadline), or once no progress has been reported for a while
// (idle). Streams use it because a context's deadline cannot be lifted once
// the response body starts.
type watchdog struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	base   time.Time
	last   atomic.Int64 // time of the last progress, as a duration since base

	mu    sync.Mutex
	timer *time.Timer // guarded by mu
	gen   uint64      // guarded by mu; bumped whenever the timer is replaced or stopped
}

func newWatchdog(parent context.Context) *watchdog {
	ctx, cancel := context.WithCancelCause(parent)
	return &watchdog{ctx: ctx, cancel: cancel, base: time.Now()}
}

// deadline makes the watchdog end its context with cause d from now.
func (w *watchdog) deadline(d time.Duration, cause error) {
	w.arm(d, func(time.Duration) (time.Duration, error) { return 0, cause })
}

// idle makes the watchdog end its context with cause once no progress has
// been reported for d.
func (w *watchdog) idle(d time.Duration, cause error) {
	w.kick()
	w.arm(d, func(quiet time.Duration) (time.Duration, error) {
		if quiet < d {
			return d - quiet, nil
		}
		return 0, cause
	})
}

// arm replaces the timer with one firing after d; on firing, check is given
// the time since the last progress and returns either how much longer to
// wait or the cause to cancel with.
func (w *watchdog) arm(d time.Duration, check func(quiet time.Duration) (time.Duration, error)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.gen++
	gen := w.gen
	w.timer = time.AfterFunc(d, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.gen != gen {
			return // replaced or stopped meanwhile
		}
		quiet := time.Since(w.base) - time.Duration(w.last.Load())
		if again, cause := check(quiet); cause == nil {
			w.timer.Reset(again)
		} else {
			w.cancel(cause)
		}
	})
}

// kick reports progress.
func (w *watchdog) kick() { w.last.Store(int64(time.Since(w.base))) }

// stop ends the watchdog and its context.
func (w *watchdog) stop() {
	w.mu.Lock()
	w.gen++
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	w.cancel(nil)
}
