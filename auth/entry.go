package auth

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/sync/singleflight"
)

// entry is one account's slot in the Cache.
//
// The token lives in an atomic pointer to an immutable tokenState, so the hit
// path is a load and a compare. Everything about fetching is changed only
// inside the account's singleflight and is guarded by mu; no lock is held
// across a request to EEO.
type entry struct {
	name    string
	fetcher Fetcher
	flight  singleflight.Group // at most one token request at a time

	current    atomic.Pointer[tokenState] // nil: no token cached
	fetching   atomic.Bool                // a token request is in flight
	refreshing atomic.Bool                // a background refresh is running
	retryAt    atomic.Int64               // UnixNano before which no request is sent; written under mu

	mu        sync.Mutex
	fetches   int64                       // guarded by mu
	lastErr   error                       // guarded by mu; nil once a request succeeds
	lastErrAt time.Time                   // guarded by mu
	backoff   *backoff.ExponentialBackOff // guarded by mu
}

func newEntry(a Account, opts Options) *entry {
	return &entry{name: a.Name, fetcher: a.Fetcher, backoff: newBackoff(opts)}
}

// backingOff returns the last failure, marked as replayed, while the backoff
// after it lasts; nil when a request may be sent.
func (e *entry) backingOff(now time.Time) *FetchError {
	e.mu.Lock()
	defer e.mu.Unlock()
	retryAt := time.Unix(0, e.retryAt.Load())
	if e.lastErr == nil || !now.Before(retryAt) {
		return nil
	}
	return &FetchError{Account: e.name, Err: e.lastErr, RetryAt: retryAt, Cached: true}
}

// recordFailure counts a failed request and schedules the next allowed one:
// the next backoff step, or EEO's Retry-After if longer (capped at maxWait).
func (e *entry) recordFailure(now time.Time, err error, maxWait time.Duration) *FetchError {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fetches++
	wait := e.backoff.NextBackOff()
	if te, ok := err.(*TokenError); ok {
		wait = max(wait, min(te.RetryAfter, maxWait))
	}
	retryAt := now.Add(wait)
	e.lastErr, e.lastErrAt = err, now
	e.retryAt.Store(retryAt.UnixNano())
	return &FetchError{Account: e.name, Err: err, RetryAt: retryAt}
}

// recordSuccess counts a successful request, clears the backoff and caches st.
func (e *entry) recordSuccess(st *tokenState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fetches++
	e.lastErr, e.lastErrAt = nil, time.Time{}
	e.retryAt.Store(0)
	e.backoff.Reset()
	e.current.Store(st)
}

// tokenState is a cached token. Only lastUse changes after creation.
type tokenState struct {
	token      Token         // IdleDeadline is filled in per hand-out
	refreshAt  time.Time     // a hit at or after this starts a background refresh
	idleUsable time.Duration // IdleTimeout less IdleMargin
	lastUse    atomic.Int64  // UnixNano of the last hand-out; starts at issue
}

// newTokenState computes a token's deadlines. issuedAt is when the request
// was sent, so time spent waiting for EEO counts against the token.
func newTokenState(account string, g Grant, issuedAt time.Time, opts Options) *tokenState {
	lifetime := opts.MaxLifetime
	if g.ExpiresIn > 0 {
		margin := min(opts.ExpiryMargin, g.ExpiresIn/4)
		lifetime = min(lifetime, g.ExpiresIn-margin)
	}
	st := &tokenState{
		token: Token{
			Account:     account,
			AccessToken: g.AccessToken,
			TokenType:   g.TokenType,
			Fingerprint: Fingerprint(g.AccessToken),
			IssuedAt:    issuedAt,
			ExpiresAt:   issuedAt.Add(lifetime),
			IdleTimeout: opts.IdleTimeout,
		},
		refreshAt:  issuedAt.Add(lifetime - min(lifetime/5, maxRefreshAhead)),
		idleUsable: opts.IdleTimeout - opts.IdleMargin,
	}
	st.lastUse.Store(issuedAt.UnixNano())
	return st
}

// usable reports whether the token may still be served at now: before its
// expiry and, by our conservative reckoning, before EEO deems it inactive.
func (st *tokenState) usable(now time.Time) bool {
	return now.Before(st.token.ExpiresAt) &&
		time.Duration(now.UnixNano()-st.lastUse.Load()) < st.idleUsable
}

// handOut records a use at now and returns the token with its new idle
// deadline.
func (st *tokenState) handOut(now time.Time) Token {
	n := now.UnixNano()
	for {
		last := st.lastUse.Load()
		if n <= last || st.lastUse.CompareAndSwap(last, n) {
			break
		}
	}
	t := st.token
	t.IdleDeadline = now.Add(st.idleUsable)
	return t
}
