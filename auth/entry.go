package auth

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// entry is one account's slot in the Cache.
//
// The token lives in an atomic pointer to an immutable cachedToken, so the hit
// path is a load and a compare. Everything about fetching is changed only
// inside the account's singleflight and is guarded by mu; no lock is held
// across a request to EEO.
type entry struct {
	name    string
	idx     int // position in Cache.names: the account's hit counter
	fetcher Fetcher
	flights flights // at most one token request at a time

	current    atomic.Pointer[cachedToken] // nil: no token cached
	fetching   atomic.Bool                 // a token request is in flight
	refreshing atomic.Bool                 // a background refresh is running
	retryAt    atomic.Int64                // clock reading before which no request is sent; written under mu

	stats entryStats // counters for metrics, read by Cache.Stats

	mu        sync.Mutex
	fetches   int64                       // guarded by mu
	lastErr   error                       // guarded by mu; nil once a request succeeds
	lastErrAt time.Time                   // guarded by mu
	backoff   *backoff.ExponentialBackOff // guarded by mu; nil until a request fails, and again once one succeeds

	shared *sharedEntry // nil without Options.Shared
}

// recordAdoption caches st, taken from the shared store: a valid token
// exists, so a backoff after a failed request of our own ends.
func (e *entry) recordAdoption(st *cachedToken) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastErr, e.lastErrAt = nil, time.Time{}
	e.retryAt.Store(noRetryAt)
	e.backoff = nil // the next failure starts a new schedule
	e.current.Store(st)
	e.shared.syncedUse.Store(st.lastUse.Load())
}

// noRetryAt is retryAt when not backing off: before every clock reading.
const noRetryAt = math.MinInt64

func newEntry(a Account) *entry {
	e := &entry{name: a.Name, fetcher: a.Fetcher}
	e.retryAt.Store(noRetryAt)
	return e
}

// backingOff returns the last failure, marked as replayed, while the backoff
// after it lasts; nil when a request may be sent. now never runs ahead of
// the true time, so the pause is never cut short by the clock's resolution.
func (e *entry) backingOff(clk *clock, now int64) *FetchError {
	e.mu.Lock()
	defer e.mu.Unlock()
	retryAt := e.retryAt.Load()
	if e.lastErr == nil || now >= retryAt {
		return nil
	}
	return &FetchError{Account: e.name, Err: e.lastErr, RetryAt: clk.time(retryAt), Cached: true}
}

// recordFailure counts a failed request and schedules the next allowed one:
// the next backoff step, or EEO's Retry-After if longer (capped at
// BackoffMax). The schedule is made at the first failure: most accounts
// never fail, and it costs 48 bytes each.
func (e *entry) recordFailure(clk *clock, now int64, err error, opts Options) *FetchError {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fetches++
	if e.backoff == nil {
		e.backoff = newBackoff(opts)
	}
	wait := e.backoff.NextBackOff()
	if te, ok := err.(*TokenError); ok {
		wait = max(wait, min(te.RetryAfter, opts.BackoffMax))
	}
	retryAt := now + int64(wait)
	e.lastErr, e.lastErrAt = err, clk.time(now)
	e.retryAt.Store(retryAt)
	return &FetchError{Account: e.name, Err: err, RetryAt: clk.time(retryAt)}
}

// fetchEnded ends a token request once its outcome is recorded: the account
// stops reporting StateRefreshing, and the request's singleflight is
// forgotten, so a call from then on starts afresh (and sees the recorded
// token, or the backoff) instead of joining the request that ended. Were
// the flag cleared as the request returned, a snapshot could show no
// request in flight and no failure either, and a caller who then waited
// out the backoff could still be handed the ended request's failure.
func (e *entry) fetchEnded() {
	e.flights.forget(nil)
	e.fetching.Store(false)
}

// recordSuccess counts a successful request, clears the backoff and caches st.
func (e *entry) recordSuccess(st *cachedToken) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fetches++
	e.lastErr, e.lastErrAt = nil, time.Time{}
	e.retryAt.Store(noRetryAt)
	e.backoff = nil // the next failure starts a new schedule
	e.current.Store(st)
}

// cachedToken is one token the cache holds, with its deadlines (unlike
// TokenState, the summary operators see). Only lastUse and retired change
// after creation. Times are clock readings (nanoseconds since the clock's
// base).
type cachedToken struct {
	token      Token        // IdleDeadline is filled in per hand-out
	expiresAt  int64        // token.ExpiresAt as a reading
	refreshAt  int64        // a hit at or after this starts a background refresh
	idleUsable int64        // IdleTimeout less IdleMargin
	lastUse    atomic.Int64 // the last recorded hand-out; starts at issue
	retired    atomic.Bool  // counted as invalidated (idle or expired) once
	clock      *clock
}

// newCachedToken computes a token's deadlines. issuedAt is when the request
// was sent, so time spent waiting for EEO counts against the token.
func newCachedToken(account string, g Grant, clk *clock, issuedAt int64, opts Options) *cachedToken {
	lifetime := opts.MaxLifetime
	if g.ExpiresIn > 0 {
		margin := min(opts.ExpiryMargin, g.ExpiresIn/4)
		lifetime = min(lifetime, g.ExpiresIn-margin)
	}
	issued := clk.time(issuedAt)
	st := &cachedToken{
		token: Token{
			Account:     account,
			AccessToken: g.AccessToken,
			TokenType:   g.TokenType,
			Fingerprint: Fingerprint(g.AccessToken),
			IssuedAt:    issued,
			ExpiresAt:   issued.Add(lifetime),
			IdleTimeout: opts.IdleTimeout,
		},
		expiresAt:  issuedAt + int64(lifetime),
		refreshAt:  issuedAt + int64(lifetime-min(lifetime/5, maxRefreshAhead)),
		idleUsable: int64(opts.IdleTimeout - opts.IdleMargin),
		clock:      clk,
	}
	st.lastUse.Store(issuedAt)
	return st
}

// usable reports whether the token may still be served: before its expiry
// and, by our conservative reckoning, before EEO deems it inactive. The true
// time is at most now+slack, and lastUse is never later than the true last
// hand-out (see handOut), so a true answer means both deadlines are still
// ahead, whatever the clock's resolution.
func (st *cachedToken) usable(now, slack int64) bool {
	latest := now + slack
	return latest < st.expiresAt && latest-st.lastUse.Load() < st.idleUsable
}

// handOut records a use at now and sets *t to the token with its idle
// deadline.
//
// A use is recorded only if the last recorded one is at least res older, so
// the hits of one clock period do not all write the shared lastUse. That
// makes lastUse earlier than the true last hand-out by less than 2×res (one
// skipped period, plus now lagging the true time by up to res): the cache
// then believes the token idle sooner than EEO does — withdrawing it up to
// that much early, never late. With an exact clock (res 0) every later use
// is recorded.
func (st *cachedToken) handOut(now, res int64, t *Token) {
	last := st.lastUse.Load()
	for now > last && now-last >= res {
		if st.lastUse.CompareAndSwap(last, now) {
			last = now
			break
		}
		last = st.lastUse.Load()
	}
	*t = st.token
	t.IdleDeadline = st.clock.time(last + st.idleUsable)
}
