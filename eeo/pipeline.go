package eeo

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/semaphore"
)

// Defaults of Options' concurrency limit and time limits.
const (
	DefaultMaxConcurrent     = 16
	DefaultOperationTimeout  = 30 * time.Second
	DefaultStreamIdleTimeout = 2 * time.Minute
)

// pipeline is the one road every call of a Client takes to EEO (see run):
// it owns the account's breaker, concurrency limit, time limits and retry
// policy, and below them the token source and the HTTP client.
type pipeline struct {
	account string
	tokens  TokenSource
	http    *http.Client
	log     *slog.Logger
	observe Observer

	breaker          *breaker // nil when disabled
	slots            *semaphore.Weighted
	retry            RetryPolicy
	operationTimeout time.Duration
	idleTimeout      time.Duration
	now              func() time.Time
	sleep            func(context.Context, time.Duration) error
}

// newPipeline builds account's pipeline from opts, defaults filled in.
func newPipeline(account string, tokens TokenSource, opts Options) *pipeline {
	p := &pipeline{
		account:          account,
		tokens:           tokens,
		http:             opts.HTTPClient,
		log:              opts.Logger,
		observe:          opts.Observer,
		retry:            opts.Retry.withDefaults(),
		operationTimeout: opts.OperationTimeout,
		idleTimeout:      opts.StreamIdleTimeout,
		now:              opts.Now,
		sleep:            opts.Sleep,
	}
	if p.http == nil {
		p.http = http.DefaultClient
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.observe == nil {
		p.observe = NopObserver{}
	}
	if p.operationTimeout <= 0 {
		p.operationTimeout = DefaultOperationTimeout
	}
	if p.idleTimeout <= 0 {
		p.idleTimeout = DefaultStreamIdleTimeout
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.sleep == nil {
		p.sleep = sleep
	}
	n := opts.MaxConcurrent
	if n <= 0 {
		n = DefaultMaxConcurrent
	}
	p.slots = semaphore.NewWeighted(int64(n))
	p.breaker = newBreaker(account, opts.Breaker, func(from, to gobreaker.State) {
		p.log.Warn("eeo circuit breaker changed state", "account", account, "from", from.String(), "to", to.String())
		p.observe.BreakerChanged(account, from.String(), to.String())
	})
	return p
}

// timing says how a call is bounded in time.
type timing int

const (
	// timedOperation: the operation timeout bounds the whole call,
	// retries and pauses included, and the answer is read within it.
	timedOperation timing = iota
	// timedUpload: no overall deadline, since a large body takes long;
	// the call fails once no byte has moved for the idle timeout.
	timedUpload
	// timedDownload: the operation timeout until the response headers
	// arrive, then the idle timeout while the caller reads the body.
	timedDownload
)

// run takes one call through the pipeline, top-down:
//
//  1. the breaker: an open one refuses the call at once;
//  2. a concurrency slot, waited for within ctx;
//  3. the call's time limit (r.timing);
//  4. the attempts, each admitted by the breaker, retried as the
//     RetryPolicy allows (see attempt for one).
//
// A call whose answer is read within its attempts (r.answer set) has given
// everything back when run returns, and the response is nil. Otherwise (a
// download) the response's Body still holds the slot and the time limit,
// which switches to the idle timeout; closing the Body gives both back.
func (p *pipeline) run(ctx context.Context, r *request) (*http.Response, error) {
	if err := p.breaker.refuseIfOpen(r.op); err != nil {
		return nil, err
	}
	release, err := p.acquire(ctx, r.op)
	if err != nil {
		return nil, err
	}
	limit := p.startLimit(ctx, r)
	x, err := p.attempts(ctx, limit, r)
	if err != nil || r.answer != nil {
		limit.end()
		release()
		return nil, err
	}
	// The request had no body, so nothing needs finishing but the response
	// body, which now belongs to the caller.
	limit.wd.idle(p.idleTimeout, idleTimeout(p.idleTimeout))
	x.resp.Body = &heldBody{op: r.op, body: x.resp.Body, limit: limit, release: release}
	return x.resp, nil
}

// acquire takes one of the account's concurrency slots, waiting within ctx.
// The returned release may be called more than once.
func (p *pipeline) acquire(ctx context.Context, op string) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Op: op, Err: err} // over before it began: no limit involved
	}
	start := time.Now()
	if err := p.slots.Acquire(ctx, 1); err != nil {
		p.log.DebugContext(ctx, "eeo call gave up waiting for a concurrency slot", "op", op, "error", err)
		ee := &Error{Op: op, Code: CodeConcurrencyLimited, Err: err}
		p.observe.SlotWaited(ctx, op, time.Since(start), ee)
		return nil, ee
	}
	p.observe.SlotWaited(ctx, op, time.Since(start), nil)
	return sync.OnceFunc(func() { p.slots.Release(1) }), nil
}

// callLimit is a call's time limit: the context its attempts run on, which
// ends when the call runs out of time.
type callLimit struct {
	ctx   context.Context
	until time.Time // when a fixed limit passes (a retry pause must end before it); zero if none
	wd    *watchdog // for streams; nil for timedOperation
	stop  func()

	// For a stream's report to the Observer when it ends.
	caller  context.Context
	op      string
	observe Observer
	moved   atomic.Int64 // bytes the stream moved
}

// startLimit starts r's time limit for a call on ctx. An answer streamed
// to the caller (no r.answer) is always timed as a download, whose watchdog
// can follow the body.
func (p *pipeline) startLimit(ctx context.Context, r *request) *callLimit {
	t := r.timing
	if r.answer == nil {
		t = timedDownload
	}
	l := p.newLimit(ctx, t)
	l.caller, l.op, l.observe = ctx, r.op, p.observe
	return l
}

// newLimit returns the time limit t on ctx.
func (p *pipeline) newLimit(ctx context.Context, t timing) *callLimit {
	switch t {
	case timedUpload:
		wd := newWatchdog(ctx)
		wd.idle(p.idleTimeout, idleTimeout(p.idleTimeout))
		return &callLimit{ctx: wd.ctx, wd: wd, stop: wd.stop}
	case timedDownload:
		// The response body lives on the request's context, so the
		// operation timeout cannot be a context deadline: a watchdog
		// enforces it until the headers are in, then watches the body.
		wd := newWatchdog(ctx)
		until := time.Now().Add(p.operationTimeout)
		if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
			until = dl
		}
		wd.deadline(p.operationTimeout, operationTimeout(p.operationTimeout))
		return &callLimit{ctx: wd.ctx, until: until, wd: wd, stop: wd.stop}
	}
	callCtx, cancel := context.WithTimeoutCause(ctx, p.operationTimeout, operationTimeout(p.operationTimeout))
	until, _ := callCtx.Deadline()
	return &callLimit{ctx: callCtx, until: until, stop: cancel}
}

// progress reports n bytes moved by a stream, which keeps it from stalling.
func (l *callLimit) progress(n int) {
	l.moved.Add(int64(n))
	l.wd.kick()
}

// end stops the limit; for a stream it is also when its bytes are counted.
func (l *callLimit) end() {
	l.stop()
	if l.wd != nil {
		l.observe.Streamed(l.caller, l.op, l.moved.Load())
	}
}

// attempts makes attempts of r, on limit's context and each under the
// breaker, until one succeeds or the call may not be retried (see
// RetryPolicy). caller is the caller's own context, whose end is not the
// client's timeout.
func (p *pipeline) attempts(caller context.Context, limit *callLimit, r *request) (*exchange, error) {
	ctx := limit.ctx
	var progress func(int)
	if r.timing == timedUpload {
		progress = limit.progress
	}
	pauses := newPauses(p.retry, p.now, limit.until)
	var last error
	for n := 1; ; n++ {
		done, err := p.breaker.admit(r.op)
		if err != nil {
			if last != nil {
				// The breaker opened during this call's retries: the last
				// failure says more than "circuit open".
				p.log.DebugContext(ctx, "eeo circuit breaker stopped the retries", "op", r.op, "attempt", n)
				return nil, last
			}
			return nil, err
		}
		x, err := p.observedAttempt(ctx, r, n, progress)
		done(verdict(caller, err))
		if err == nil {
			return x, nil
		}
		last = err
		if !r.retryable() || n >= p.retry.MaxAttempts || !retryWorthy(ctx, err) {
			return nil, err
		}
		ee := err.(*Error) // retryWorthy checked
		wait, why := pauses.next(ee)
		if why != "" {
			p.log.DebugContext(ctx, "eeo call not retried", "op", r.op, "attempt", n, "status", ee.StatusCode, "reason", why, "retry_after", ee.RetryAfter)
			return nil, err
		}
		p.log.InfoContext(ctx, "eeo call failed; retrying", "op", r.op, "attempt", n, "wait", wait,
			"status", ee.StatusCode, "code", ee.Code, "retry_after", ee.RetryAfter)
		p.observe.Retrying(ctx, r.op, n, wait, err)
		if err := p.sleep(ctx, wait); err != nil {
			return nil, transportError(ctx, r.op, err)
		}
	}
}

// observedAttempt is attempt n of r, reported to the Observer.
func (p *pipeline) observedAttempt(ctx context.Context, r *request, n int, progress func(int)) (*exchange, error) {
	ctx = p.observe.AttemptStarted(ctx, r.op, n)
	start := time.Now()
	x, err := p.attempt(ctx, r, progress)
	status := 0
	if ee, ok := err.(*Error); ok {
		status = ee.StatusCode
	} else if x != nil {
		status = x.resp.StatusCode
	}
	p.observe.AttemptEnded(ctx, r.op, n, status, err, time.Since(start))
	return x, err
}

// heldBody is a streamed answer's body: it holds the call's concurrency slot
// and time limit until closed, reports progress to the limit, and turns a
// stall into a timeout *Error.
type heldBody struct {
	op      string
	body    io.ReadCloser
	limit   *callLimit
	release func()
	once    sync.Once
}

// Read implements io.Reader.
func (b *heldBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.limit.progress(n)
	}
	if err != nil && err != io.EOF {
		if te := ownTimeout(b.limit.ctx); te != nil {
			err = &Error{Op: b.op, Err: te}
		}
	}
	return n, err
}

// Close implements io.Closer.
func (b *heldBody) Close() error {
	err := b.body.Close()
	b.once.Do(func() {
		b.limit.end()
		b.release()
	})
	return err
}
