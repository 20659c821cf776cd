package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Fetcher obtains a new token from EEO for one account. ClientCredentials is
// the one the service uses; tests supply their own.
type Fetcher interface {
	FetchToken(ctx context.Context) (Grant, error)
}

// Account is a configured account: the name callers use, and how to get its
// tokens.
type Account struct {
	Name    string
	Fetcher Fetcher
}

// Defaults for Options.
const (
	DefaultIdleTimeout    = 3599 * time.Second
	DefaultExpiryMargin   = time.Minute
	DefaultMaxLifetime    = 12 * time.Hour
	DefaultFetchTimeout   = 10 * time.Second
	DefaultBackoffInitial = 500 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second

	DefaultSharedPoll         = 100 * time.Millisecond
	DefaultSharedCallTimeout  = 500 * time.Millisecond
	DefaultSharedSyncInterval = 2 * time.Second
)

// maxRefreshAhead bounds how long before expiry a background refresh starts.
const maxRefreshAhead = 5 * time.Minute

// ErrClosed is returned by a Cache after Close.
var ErrClosed = errors.New("token cache closed")

// Options tune a Cache. Zero values take the defaults above.
type Options struct {
	// IdleTimeout is EEO's inactivity rule: a token no request used for this
	// long is dead.
	IdleTimeout time.Duration
	// IdleMargin is how much earlier than IdleTimeout the cache stops serving
	// an unused token, covering the time between hand-out and EEO seeing the
	// request. Default: the smaller of 30s and IdleTimeout/10.
	IdleMargin time.Duration
	// ExpiryMargin is subtracted from EEO's expires_in, but never more than a
	// quarter of it, so a short-lived token cannot cause a refresh storm.
	ExpiryMargin time.Duration
	// MaxLifetime caps how long a token is served whatever expires_in says,
	// and is its lifetime when EEO reports none.
	MaxLifetime time.Duration
	// FetchTimeout bounds one token request. Fetches run detached from the
	// callers that wait for them, so this is their only deadline.
	FetchTimeout time.Duration
	// BackoffInitial and BackoffMax bound the jittered exponential pause
	// after failed token requests.
	BackoffInitial time.Duration
	BackoffMax     time.Duration
	// ClockResolution is how stale the cache's reading of the time may be.
	// Reading the system clock on every hit costs more than the rest of
	// the hit, so the cache reads a clock that a ticker updates this often
	// while tokens are handed out. A token is then withdrawn up to this
	// much before its deadlines, never after, and a use is recorded only
	// when the last recorded one is older than this. It must be less than
	// IdleMargin and the ExpiryMargin. Default DefaultClockResolution;
	// ignored when Now is set.
	ClockResolution time.Duration
	// Now, if set, is the clock, read on every call (tests use it to share
	// one fake time with a sandbox). Nil means the coarse clock above.
	Now func() time.Time
	// Logger receives fetch outcomes (never a token or secret); nil discards.
	Logger *slog.Logger

	// Shared, if set, is the store through which replicas of the gateway
	// share one token per account (see SharedStore for the algorithm).
	// Nil keeps every token in this process only.
	Shared SharedStore
	// SharedLockTTL is how long a replica's fetch lock lasts: a replica
	// whose process dies mid-fetch is replaced after at most this long.
	// Default FetchTimeout plus twice SharedCallTimeout plus a second, so
	// a live holder always stores before its lock runs out; it must
	// exceed FetchTimeout plus twice SharedCallTimeout.
	SharedLockTTL time.Duration
	// SharedPoll is the mean pause (jittered ±50%) between a waiting
	// replica's looks at the store for the token another replica is
	// fetching. Default DefaultSharedPoll.
	SharedPoll time.Duration
	// SharedCallTimeout bounds each call to the store; one that fails or
	// times out makes the cache work locally until the store answers
	// again. Default DefaultSharedCallTimeout.
	SharedCallTimeout time.Duration
	// SharedSyncInterval is how often the cache reports its tokens' use to
	// the store (sliding the shared idle deadline) and checks them against
	// the shared token, so a token another replica refreshed or
	// invalidated is replaced or dropped here within this long. It must be
	// less than IdleMargin. Default DefaultSharedSyncInterval, or half the
	// IdleMargin if that is shorter.
	SharedSyncInterval time.Duration
	// OnSharedStatus, if set, is called with the new status each time the
	// shared store goes down or comes back (see Cache.SharedStatus), on
	// the goroutine whose call noticed; it must not block.
	OnSharedStatus func(SharedStatus)
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.IdleMargin, min(30*time.Second, o.IdleTimeout/10))
	def(&o.ExpiryMargin, DefaultExpiryMargin)
	def(&o.MaxLifetime, DefaultMaxLifetime)
	def(&o.FetchTimeout, DefaultFetchTimeout)
	def(&o.BackoffInitial, DefaultBackoffInitial)
	def(&o.BackoffMax, DefaultBackoffMax)
	def(&o.ClockResolution, DefaultClockResolution)
	def(&o.SharedPoll, DefaultSharedPoll)
	def(&o.SharedCallTimeout, DefaultSharedCallTimeout)
	o.IdleMargin = min(o.IdleMargin, o.IdleTimeout/2)
	// A short idle timeout has a short margin; the default sync interval
	// shrinks to fit it rather than make NewCache refuse a config that
	// check-config accepted.
	def(&o.SharedSyncInterval, min(DefaultSharedSyncInterval, o.IdleMargin/2))
	def(&o.SharedLockTTL, o.FetchTimeout+2*o.SharedCallTimeout+time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// Cache hands out EEO access tokens per account. A valid cached token is
// returned without locking or allocating; otherwise callers of one account
// share a single token request. It is safe for concurrent use.
type Cache struct {
	opts    Options
	clock   *clock
	entries map[string]*entry // fixed at construction, so read without a lock
	names   []string          // sorted keys of entries
	few     []*entry          // all entries when there are few; see entry
	hits    *hitCounts        // per account, by entry.idx

	closing context.Context // cancelled by Close; aborts fetches in flight
	stop    context.CancelFunc

	mu      sync.Mutex
	closed  bool           // guarded by mu
	running sync.WaitGroup // fetches, background refreshes, the sync loop; Add under mu

	shared  *sharedHealth // nil without Options.Shared
	noticed chan struct{} // buffered: a SharedNotifier notice for the sync loop
}

// validate rejects options under which the cache could not keep its
// promises.
func (o Options) validate() error {
	if o.Now == nil && (o.ClockResolution >= o.IdleMargin || o.ClockResolution >= o.ExpiryMargin) {
		return fmt.Errorf("auth: clock resolution %v must be less than the idle margin (%v) and the expiry margin (%v)",
			o.ClockResolution, o.IdleMargin, o.ExpiryMargin)
	}
	if o.Shared != nil {
		if o.SharedSyncInterval >= o.IdleMargin {
			return fmt.Errorf("auth: shared sync interval %v must be less than the idle margin (%v), or another replica's use could come too late",
				o.SharedSyncInterval, o.IdleMargin)
		}
		// A holder makes one store call (the second Load) between taking
		// the lock and its fetch, and one (Store) after it.
		if hold := o.FetchTimeout + 2*o.SharedCallTimeout; o.SharedLockTTL <= hold {
			return fmt.Errorf("auth: shared lock TTL %v must exceed the fetch timeout plus two store calls (%v), or live holders would lose their lock",
				o.SharedLockTTL, hold)
		}
	}
	return nil
}

// NewCache returns a cache for the given accounts. Names must be unique and
// non-empty.
func NewCache(accounts []Account, opts Options) (*Cache, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c := &Cache{opts: opts, entries: make(map[string]*entry, len(accounts))}
	for _, a := range accounts {
		if a.Name == "" || a.Fetcher == nil {
			return nil, errors.New("auth: account needs a name and a fetcher")
		}
		if _, dup := c.entries[a.Name]; dup {
			return nil, fmt.Errorf("auth: account %q configured twice", a.Name)
		}
		e := newEntry(a)
		if opts.Shared != nil {
			e.shared = &sharedEntry{}
		}
		c.entries[a.Name] = e
		c.names = append(c.names, a.Name)
	}
	slices.Sort(c.names)
	c.hits = newHitCounts(len(c.names))
	for i, name := range c.names {
		c.entries[name].idx = i
	}
	if len(c.names) <= fewAccounts {
		for _, name := range c.names {
			c.few = append(c.few, c.entries[name])
		}
	}
	c.closing, c.stop = context.WithCancel(context.Background())
	c.clock = newClock(opts.Now, opts.ClockResolution)
	if c.clock.coarse() {
		go c.clock.run(c.closing.Done())
	}
	if opts.Shared != nil {
		c.shared = newSharedHealth(opts.Logger, opts.OnSharedStatus)
		c.noticed = make(chan struct{}, 1)
		c.running.Add(1)
		go c.syncLoop()
		if n, ok := opts.Shared.(SharedNotifier); ok {
			c.running.Add(1)
			go func() {
				defer c.running.Done()
				n.Watch(c.closing, c.notice)
			}()
		}
	}
	return c, nil
}

// Token returns a valid token for the account, fetching one if none is
// cached. The call counts as a use of the token, sliding its idle deadline.
// It waits for a fetch no longer than ctx allows; the fetch itself goes on
// for the other callers.
func (c *Cache) Token(ctx context.Context, account string) (tok Token, err error) {
	e, err := c.entry(account)
	if err != nil {
		return Token{}, err
	}
	now, slack := c.clock.reading()
	st := e.current.Load()
	if st != nil && st.usable(now, slack) {
		if now >= st.refreshAt && now >= e.retryAt.Load() {
			c.refreshInBackground(e)
		}
		c.hits.add(e.idx)
		// Filled in place: a Token is ~140 bytes, and copies of it were
		// a third of a hit.
		st.handOut(now, c.clock.res, &tok)
		return tok, nil
	}
	e.stats.misses.Add(1)
	if st != nil && st.retired.CompareAndSwap(false, true) {
		cause := CauseIdle
		if now+slack >= st.expiresAt {
			cause = CauseExpired
		}
		e.stats.invalidations[cause].Add(1)
	}
	return c.await(ctx, e, false)
}

// Refresh fetches a new token for the account and caches it, joining a fetch
// already in flight rather than starting a second one.
func (c *Cache) Refresh(ctx context.Context, account string) (Token, error) {
	e, err := c.entry(account)
	if err != nil {
		return Token{}, err
	}
	return c.await(ctx, e, true)
}

// Invalidate drops the cached token only if it is still accessToken: a 401
// for a token that has since been replaced must not discard the new one. It
// reports whether a token was dropped.
//
// It is how the EEO client reports a token EEO answered 401 for, and is
// counted as such (CauseRejected). With a SharedStore the shared token is
// dropped too, under the same condition, so no replica serves it again.
func (c *Cache) Invalidate(account string, accessToken Secret) (bool, error) {
	dropped, err := c.invalidateIf(account, CauseRejected, func(t *Token) bool { return t.AccessToken.Equal(accessToken) })
	if err != nil || c.shared == nil {
		return dropped, err
	}
	return c.invalidateShared(account, Fingerprint(accessToken)) || dropped, nil
}

// InvalidateFingerprint is Invalidate for a caller that knows the token only
// by its Fingerprint.
func (c *Cache) InvalidateFingerprint(account, fingerprint string) (bool, error) {
	dropped, err := c.invalidateIf(account, CauseInvalidated, func(t *Token) bool { return t.Fingerprint == fingerprint })
	if err != nil || c.shared == nil {
		return dropped, err
	}
	return c.invalidateShared(account, fingerprint) || dropped, nil
}

// Drop discards whatever token is cached for the account. It reports whether
// one was. With a SharedStore it drops the shared token as well: the one
// cached here or, without one, the one the store holds.
func (c *Cache) Drop(account string) (bool, error) {
	var fp string
	dropped, err := c.invalidateIf(account, CauseInvalidated, func(t *Token) bool { fp = t.Fingerprint; return true })
	if err != nil || c.shared == nil {
		return dropped, err
	}
	return c.dropShared(account, fp) || dropped, nil
}

// Reset forgets the account's token and any backoff after failures, for
// when its credentials change: the next call fetches at once. With a
// SharedStore the forgotten token is dropped there as well (if it is still
// the shared one) and never adopted again by this replica.
func (c *Cache) Reset(account string) error {
	e, err := c.entry(account)
	if err != nil {
		return err
	}
	if st := e.current.Load(); st != nil && e.shared != nil {
		e.reject(st.token.Fingerprint) // before the drop, as in invalidateIf
	}
	st := e.current.Swap(nil)
	if st != nil {
		e.stats.invalidations[CauseSecretRotated].Add(1)
	}
	e.mu.Lock()
	e.lastErr, e.lastErrAt = nil, time.Time{}
	e.retryAt.Store(noRetryAt)
	e.backoff = nil
	e.mu.Unlock()
	if st != nil && c.shared != nil {
		// The shared token came from the old credentials too; only that
		// one is dropped, so a replica resetting later cannot discard the
		// token the first one fetched with the new credentials.
		c.invalidateShared(account, st.token.Fingerprint)
	}
	return nil
}

// Close stops background refreshes and the clock's ticker, aborts fetches in
// flight and waits for them to end. Calls after Close fail with ErrClosed
// unless a valid token is cached.
func (c *Cache) Close() {
	c.Stop()
	c.running.Wait()
	if c.clock.coarse() {
		<-c.clock.done
	}
}

// Stop is Close without the wait: background work and fetches in flight
// are told to end, and calls fail as after Close. A shared store call
// already under way still runs to its end, and one that fails from now on
// is not taken for an outage: a process shutting down calls Stop, then
// releases what such calls may be blocked on (a Redis client whose
// commands outlast a cancelled context until their timeout), then Close.
func (c *Cache) Stop() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
}

// fewAccounts is up to how many accounts entry scans a slice rather than
// hashing the name: comparing a handful of short strings is cheaper.
const fewAccounts = 8

func (c *Cache) entry(account string) (*entry, error) {
	for _, e := range c.few {
		if e.name == account {
			return e, nil
		}
	}
	if c.few != nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownAccount, account)
	}
	e, ok := c.entries[account]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownAccount, account)
	}
	return e, nil
}

func (c *Cache) invalidateIf(account string, cause InvalidationCause, match func(*Token) bool) (bool, error) {
	e, err := c.entry(account)
	if err != nil {
		return false, err
	}
	st := e.current.Load()
	if st == nil || !match(&st.token) {
		return false, nil
	}
	if e.shared != nil {
		// Before the drop: a call that misses once it is dropped must not
		// take the same token back from the store, which still holds it.
		e.reject(st.token.Fingerprint)
	}
	dropped := e.current.CompareAndSwap(st, nil)
	if dropped {
		e.stats.invalidations[cause].Add(1)
		c.opts.Logger.Info("token invalidated", "account", e.name, "fingerprint", st.token.Fingerprint, "cause", cause.String())
	}
	return dropped, nil
}

// await joins or starts the account's one fetch and waits for it within ctx.
func (c *Cache) await(ctx context.Context, e *entry, force bool) (Token, error) {
	// The fetch outlives this caller: it keeps ctx's values (trace IDs) but
	// not its cancellation, so a caller that gives up fails no one else.
	detached := context.WithoutCancel(ctx)
	fl, led := e.flights.join(func() (*cachedToken, error) { return c.fetch(detached, e, force) })
	select {
	case <-fl.done:
		if !led {
			e.stats.joined.Add(1)
		}
		if fl.err != nil {
			return Token{}, fl.err
		}
		now, _ := c.clock.reading()
		var tok Token
		fl.st.handOut(now, c.clock.res, &tok)
		tok.Fetched = true
		return tok, nil
	case <-ctx.Done():
		return Token{}, fmt.Errorf("waiting for %q token: %w", e.name, context.Cause(ctx))
	}
}

// refreshInBackground starts one background refresh for a token that is still
// valid but near its expiry; callers keep getting the valid token meanwhile.
func (c *Cache) refreshInBackground(e *entry) {
	if !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	if !c.track() {
		e.refreshing.Store(false)
		return
	}
	e.stats.backgroundRefreshes.Add(1)
	go func() {
		defer c.running.Done()
		defer e.refreshing.Store(false)
		fl, _ := e.flights.join(func() (*cachedToken, error) {
			// A token that is no longer due was put in place since the
			// refresh was asked for (another replica's, by the sync loop).
			if st := e.current.Load(); st != nil {
				if now, slack := c.clock.reading(); st.usable(now, slack) && now < st.refreshAt {
					return st, nil
				}
			}
			return c.fetch(context.Background(), e, true)
		})
		<-fl.done
	}()
}

// track registers a goroutine with Close, unless the cache is closed.
func (c *Cache) track() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.running.Add(1)
	return true
}

// fetch runs inside the account's singleflight: at most one at a time per
// account. Unless forced it first re-checks the cache, because a caller may
// have seen an expired token just before another fetch finished.
func (c *Cache) fetch(parent context.Context, e *entry, force bool) (*cachedToken, error) {
	if c.closing.Err() != nil {
		return nil, ErrClosed
	}
	now, slack := c.clock.reading()
	cur := e.current.Load()
	if !force && cur != nil && cur.usable(now, slack) {
		return cur, nil
	}
	if c.shared != nil {
		return c.fetchShared(parent, e, cur, force)
	}
	return c.fetchLocal(parent, e)
}

// fetchLocal sends a token request to EEO unless the account is backing
// off after a failure.
func (c *Cache) fetchLocal(parent context.Context, e *entry) (*cachedToken, error) {
	now, _ := c.clock.reading()
	if err := e.backingOff(c.clock, now); err != nil {
		e.stats.backoffRejections.Add(1)
		return nil, err
	}
	if !c.track() {
		return nil, ErrClosed
	}
	defer c.running.Done()
	e.fetching.Store(true)
	defer e.fetchEnded()
	return c.request(parent, e)
}

// request sends one token request to EEO and records its outcome. The
// caller has checked the backoff and registered with Close.
func (c *Cache) request(parent context.Context, e *entry) (*cachedToken, error) {
	// issuedAt is a lower bound on when the request is sent, so EEO's
	// clocks for the token start no earlier than the cache's.
	issuedAt, _ := c.clock.reading()
	ctx, cancel := context.WithTimeout(parent, c.opts.FetchTimeout)
	defer cancel()
	defer context.AfterFunc(c.closing, cancel)()
	grant, err := e.fetcher.FetchToken(ctx)

	e.stats.countFetch(err)
	if err != nil {
		now, _ := c.clock.reading()
		ferr := e.recordFailure(c.clock, now, err, c.opts)
		c.opts.Logger.WarnContext(ctx, "token request failed", "account", e.name, "error", err, "retry_at", ferr.RetryAt)
		return nil, ferr
	}
	st := newCachedToken(e.name, grant, c.clock, issuedAt, c.opts)
	e.recordSuccess(st)
	c.opts.Logger.InfoContext(ctx, "token fetched", "account", e.name, "fingerprint", st.token.Fingerprint,
		"expires_at", st.token.ExpiresAt, "expires_in", grant.ExpiresIn)
	return st, nil
}

// newBackoff is the pause schedule after failed token requests: exponential
// with ±50% jitter so that gateways restarted together do not retry in step.
func newBackoff(opts Options) *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = opts.BackoffInitial
	b.MaxInterval = opts.BackoffMax
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	b.Reset()
	return b
}
