package auth

import "time"

// syncLoop runs syncShared every SharedSyncInterval, and syncNoticed on
// each notice from a SharedNotifier, until Close. All reconciling happens
// on this one goroutine.
func (c *Cache) syncLoop() {
	defer c.running.Done()
	t := time.NewTicker(c.opts.SharedSyncInterval)
	defer t.Stop()
	for {
		select {
		case <-c.closing.Done():
			return
		case <-t.C:
			c.syncShared()
		case <-c.noticed:
			c.syncNoticed()
		}
	}
}

// notice is the SharedNotifier callback: another replica changed the
// account's shared token.
func (c *Cache) notice(account string) {
	e, err := c.entry(account)
	if err != nil {
		return // an account this replica does not serve
	}
	e.shared.noticed.Store(true)
	e.signalChange()
	select {
	case c.noticed <- struct{}{}:
	default: // the loop has a wake-up pending
	}
}

// syncNoticed reconciles the accounts a notice named.
func (c *Cache) syncNoticed() {
	for _, name := range c.names {
		e := c.entries[name]
		if !e.shared.noticed.Swap(false) {
			continue
		}
		if st := e.current.Load(); st != nil && !e.fetching.Load() {
			if !c.syncEntry(e, st) {
				return
			}
		}
	}
}

// syncShared reconciles every cached token with the shared store, off the
// hit path: it reports this replica's uses (Touch), so the shared idle
// deadline slides with any replica's use, and it Loads the shared token:
// a later use elsewhere slides the local idle deadline, a different token
// (another replica refreshed) replaces the local one, and none at all
// (invalidated elsewhere, or lost by the store) drops it, so that the next
// call fetches through the store's lock. While the store is down and no
// token is cached, it probes the store with a Load, so sharing resumes
// when it returns.
func (c *Cache) syncShared() {
	checked := false
	for _, name := range c.names {
		e := c.entries[name]
		st := e.current.Load()
		if st == nil || e.fetching.Load() {
			// A fetch in flight reconciles its own token.
			continue
		}
		checked = true
		if !c.syncEntry(e, st) {
			return // the store failed: try again next round
		}
	}
	if !checked && c.shared.isDown() && len(c.names) > 0 {
		c.load(c.closing, c.entries[c.names[0]])
	}
}

// syncEntry reconciles one account's token st; it returns false if the
// store failed.
func (c *Cache) syncEntry(e *entry, st *cachedToken) bool {
	now := c.clock.exact()
	if !st.usable(now, 0) {
		return true // the next caller's miss replaces it
	}
	fp := st.token.Fingerprint
	if last := st.lastUse.Load(); last > e.shared.syncedUse.Load() {
		ctx, cancel := c.callCtx(c.closing)
		touched, err := c.opts.Shared.Touch(ctx, e.name, fp, c.clock.time(last+st.idleUsable))
		cancel()
		if !c.observe(err) {
			return false
		}
		if touched {
			e.shared.syncedUse.Store(last)
		}
	}
	tok, found, up := c.load(c.closing, e)
	switch {
	case !up:
		return false
	case !found:
		c.replace(e, st, nil)
	case tok.Fingerprint == fp:
		c.slide(e, st, tok, now)
	case e.isRejected(tok.Fingerprint):
		// Invalidated here while the store was down: catch up. The next
		// round finds no shared token and drops ours.
		c.invalidateShared(e.name, tok.Fingerprint)
	default:
		next := adoptedToken(e.name, tok, c.clock, now, c.opts)
		if !next.usable(now, 0) {
			next = nil
		}
		c.replace(e, st, next)
	}
	return true
}

// replace swaps the account's token old for next (nil drops it), unless a
// fetch has replaced old meanwhile.
func (c *Cache) replace(e *entry, old, next *cachedToken) {
	if !e.current.CompareAndSwap(old, next) {
		return
	}
	e.stats.invalidations[CauseShared].Add(1)
	if next == nil {
		c.opts.Logger.Info("token dropped: the shared store no longer holds it", "account", e.name,
			"fingerprint", old.token.Fingerprint)
		return
	}
	e.shared.syncedUse.Store(next.lastUse.Load())
	e.stats.adopted.Add(1)
	c.opts.Logger.Info("token replaced by the shared store's", "account", e.name,
		"fingerprint", next.token.Fingerprint, "replaced", old.token.Fingerprint)
}

// slide moves st's last use up to what the shared idle deadline implies
// (another replica used the token), never past now.
func (c *Cache) slide(e *entry, st *cachedToken, tok Token, now int64) {
	shared := min(c.clock.at(tok.IdleDeadline)-st.idleUsable, now)
	for last := st.lastUse.Load(); shared > last; last = st.lastUse.Load() {
		if st.lastUse.CompareAndSwap(last, shared) {
			break
		}
	}
	if shared > e.shared.syncedUse.Load() {
		e.shared.syncedUse.Store(shared)
	}
}
