package auth

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// fetchShared is fetch with a SharedStore: take the token another replica
// stored, or fetch it under the account's distributed lock and store it,
// or wait for the replica that holds the lock. Any failure of the store
// makes this replica fetch on its own (see SharedStore).
//
// A forced fetch (Refresh, or a background refresh) wants a token other
// than stale: the one cached here, or, with none cached, the one the store
// held at the first look.
func (c *Cache) fetchShared(parent context.Context, e *entry, cur *cachedToken, force bool) (*cachedToken, error) {
	if c.shared.isDown() {
		// No store call while it is down: the sync loop probes it, so a
		// miss does not wait out a timeout per call.
		return c.fetchLocal(parent, e)
	}
	if !c.track() {
		return nil, ErrClosed
	}
	defer c.running.Done()
	e.fetching.Store(true)
	defer e.fetchEnded()

	var stale string
	if force && cur != nil {
		stale = cur.token.Fingerprint
	}
	st, lease, err := c.acquire(parent, e, force, stale)
	if err != nil || st != nil {
		return st, err
	}
	if !lease.Held {
		// The store failed: fetch as if there were none.
		now, _ := c.clock.reading()
		if err := e.backingOff(c.clock, now); err != nil {
			e.stats.backoffRejections.Add(1)
			return nil, err
		}
		return c.request(parent, e)
	}
	defer c.unlock(parent, e, lease)
	st, err = c.request(parent, e)
	if err != nil {
		return nil, err
	}
	c.publish(parent, e, lease, st)
	return st, nil
}

// acquire returns a token taken from the store, or the account's fetch
// lock for this replica to fetch under, or neither when the store failed.
// While another replica holds the lock it looks again every SharedPoll
// (jittered, and no later than that lock's expiry), or at once on a
// SharedNotifier notice for the account, so it picks up the holder's
// token as soon as it is stored and takes the lock over once a dead
// holder's lock expires. Only Close ends the wait early: callers stop
// waiting at their own deadlines (see await), and the wait goes on for
// the next caller.
func (c *Cache) acquire(parent context.Context, e *entry, force bool, stale string) (*cachedToken, FetchLease, error) {
	for first := true; ; first = false {
		// Taken before the look, so a notice between the look and the
		// pause below still cuts the pause short.
		changed := e.changes()
		tok, found, up := c.load(parent, e)
		if !up {
			return nil, FetchLease{}, nil
		}
		if found {
			if first && force && stale == "" {
				// Only the token the caller could have been handed: one
				// stored while we wait is newer than the refresh asked.
				stale = tok.Fingerprint
			}
			if st := c.adopt(e, tok, stale); st != nil {
				return st, FetchLease{}, nil
			}
		}
		now, _ := c.clock.reading()
		if err := e.backingOff(c.clock, now); err != nil {
			e.stats.backoffRejections.Add(1)
			return nil, FetchLease{}, err
		}
		lease, err := c.lock(parent, e)
		if err != nil {
			return nil, FetchLease{}, nil
		}
		if lease.Held {
			// Another replica may have stored between our look and the lock.
			if tok, found, _ := c.load(parent, e); found {
				if st := c.adopt(e, tok, stale); st != nil {
					c.unlock(parent, e, lease)
					return st, FetchLease{}, nil
				}
			}
			return nil, lease, nil
		}
		pause := c.opts.SharedPoll/2 + rand.N(c.opts.SharedPoll)
		pause = max(min(pause, lease.Wait), time.Millisecond)
		t := time.NewTimer(pause)
		select {
		case <-c.closing.Done():
			t.Stop()
			return nil, FetchLease{}, ErrClosed
		case <-changed: // the holder stored (or a token was dropped)
			t.Stop()
		case <-t.C:
		}
	}
}

// adopt caches tok, which another replica stored, unless it is stale, was
// invalidated here, or may no longer be served; it returns nil then.
func (c *Cache) adopt(e *entry, tok Token, stale string) *cachedToken {
	if tok.Fingerprint == stale || e.isRejected(tok.Fingerprint) {
		return nil
	}
	now, slack := c.clock.reading()
	st := adoptedToken(e.name, tok, c.clock, now, c.opts)
	if !st.usable(now, slack) {
		return nil
	}
	e.recordAdoption(st)
	e.stats.adopted.Add(1)
	c.opts.Logger.Info("token taken from the shared store", "account", e.name, "fingerprint", st.token.Fingerprint,
		"expires_at", st.token.ExpiresAt)
	return st
}

// adoptedToken is tok, stored by another replica, as this cache holds it:
// expiry and refresh point follow the shared issue and expiry times, and
// the last use is what the shared idle deadline implies, but never later
// than now, so a replica configured with a longer idle timeout cannot
// stretch ours.
func adoptedToken(account string, tok Token, clk *clock, now int64, opts Options) *cachedToken {
	issuedAt, expiresAt := clk.at(tok.IssuedAt), clk.at(tok.ExpiresAt)
	lifetime := time.Duration(expiresAt - issuedAt)
	idleUsable := int64(opts.IdleTimeout - opts.IdleMargin)
	st := &cachedToken{
		token: Token{
			Account:     account,
			AccessToken: tok.AccessToken,
			TokenType:   tok.TokenType,
			Fingerprint: Fingerprint(tok.AccessToken),
			IssuedAt:    clk.time(issuedAt),
			ExpiresAt:   clk.time(expiresAt),
			IdleTimeout: opts.IdleTimeout,
		},
		expiresAt:  expiresAt,
		refreshAt:  expiresAt - int64(min(lifetime/5, maxRefreshAhead)),
		idleUsable: idleUsable,
		clock:      clk,
	}
	st.lastUse.Store(min(clk.at(tok.IdleDeadline)-idleUsable, now))
	return st
}

// callCtx bounds one store call. It keeps parent's values but not its
// cancellation: a call is short, and an Unlock should happen even on Close.
func (c *Cache) callCtx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(parent), c.opts.SharedCallTimeout)
}

// observe records a store call's outcome in the store's health and reports
// whether the store answered. A token it holds but cannot read (another
// replica's key) is an answer: the store is up.
func (c *Cache) observe(err error) bool {
	now := c.clock.time(c.clock.exact())
	if err == nil || errors.Is(err, ErrSharedUnreadable) || errors.Is(err, ErrLeaseLost) {
		c.shared.succeeded(now)
		return true
	}
	if c.closing.Err() != nil {
		// Stopped: the store (its client closed under the call, or the
		// call cut short) says nothing about its health any more.
		return false
	}
	c.shared.failed(err, now)
	return false
}

// load reads the account's shared token. up is false when the store
// failed; a token it cannot read counts as none.
func (c *Cache) load(parent context.Context, e *entry) (tok Token, found, up bool) {
	ctx, cancel := c.callCtx(parent)
	defer cancel()
	tok, found, err := c.opts.Shared.Load(ctx, e.name)
	if !c.observe(err) {
		return Token{}, false, false
	}
	if err != nil {
		const msg = "shared token unreadable; replicas must share one encryption key"
		if warn, suppressed := e.shared.unreadable.report(err.Error(), c.clock.time(c.clock.exact())); warn {
			c.opts.Logger.Warn(msg, "account", e.name, "error", err, "suppressed", suppressed, "repeat_every", unreadableWarnEvery)
		} else {
			c.opts.Logger.Debug(msg, "account", e.name, "error", err)
		}
		return Token{}, false, true
	}
	return tok, found, true
}

func (c *Cache) lock(parent context.Context, e *entry) (FetchLease, error) {
	ctx, cancel := c.callCtx(parent)
	defer cancel()
	lease, err := c.opts.Shared.Lock(ctx, e.name, c.opts.SharedLockTTL)
	c.observe(err)
	return lease, err
}

func (c *Cache) unlock(parent context.Context, e *entry, lease FetchLease) {
	ctx, cancel := c.callCtx(parent)
	defer cancel()
	c.observe(c.opts.Shared.Unlock(ctx, e.name, lease))
}

// publish stores st, just fetched under lease, as the shared token. If the
// lease was lost (this replica stalled past its lock), st stays cached
// here until the sync loop replaces it with the token the later holder
// stored.
func (c *Cache) publish(parent context.Context, e *entry, lease FetchLease, st *cachedToken) {
	last := st.lastUse.Load()
	tok := st.token
	tok.IdleDeadline = c.clock.time(last + st.idleUsable)
	ctx, cancel := c.callCtx(parent)
	defer cancel()
	err := c.opts.Shared.Store(ctx, e.name, lease, tok)
	c.observe(err)
	switch {
	case err == nil:
		e.shared.syncedUse.Store(last)
	case errors.Is(err, ErrLeaseLost):
		c.opts.Logger.Info("fetch lock lost before the token was stored; another replica's token will replace it",
			"account", e.name, "fingerprint", tok.Fingerprint)
	}
}

// invalidateShared drops the shared token if it has fingerprint fp, and
// remembers fp so that this replica never adopts it again, even if the
// store is down now and still holds it when it returns.
func (c *Cache) invalidateShared(account, fp string) bool {
	e, err := c.entry(account)
	if err != nil || fp == "" {
		return false
	}
	e.reject(fp)
	if c.shared.isDown() {
		return false
	}
	ctx, cancel := c.callCtx(context.Background())
	defer cancel()
	dropped, err := c.opts.Shared.InvalidateIf(ctx, e.name, fp)
	c.observe(err)
	if dropped {
		c.opts.Logger.Info("shared token invalidated", "account", e.name, "fingerprint", fp)
	}
	return dropped
}

// dropShared is Drop's part in the store: the shared token if it is fp,
// or whatever the store holds when this replica had none.
func (c *Cache) dropShared(account, fp string) bool {
	e, err := c.entry(account)
	if err != nil {
		return false
	}
	if fp == "" {
		if c.shared.isDown() {
			return false
		}
		tok, found, _ := c.load(context.Background(), e)
		if !found {
			return false
		}
		fp = tok.Fingerprint
	}
	return c.invalidateShared(account, fp)
}
