package auth

import (
	"context"
	"errors"
	"time"
)

// SharedStore is where replicas of the gateway share one token per account
// (issue 14), so that an upstream keeping one active token per client does
// not see each replica fetch, and revoke, its own. auth/redisstore
// implements it on Redis; Options.Shared hands one to a Cache.
//
// # How a Cache uses it
//
// The in-process hit path stays in front, unchanged: a cached token that
// is still valid is served without a store call, lock or allocation. The
// store is consulted only on a local miss, on a refresh, on an
// invalidation, and by a background sync loop.
//
// On a miss (inside the account's singleflight, so at most one per
// replica and account) the Cache Loads the shared token and, if it may be
// served, adopts it with its shared expiry and idle deadline: no request
// to EEO. Otherwise it takes the account's fetch Lock (TTL
// Options.SharedLockTTL), Loads again (another replica may just have
// stored), fetches from EEO, Stores under the lease and Unlocks. If
// another replica holds the lock it looks again every Options.SharedPoll
// (jittered, never later than the lock's expiry): it adopts the holder's
// token as soon as it is stored, and takes the lock over when it is free
// again, so a holder whose process died is replaced after the lock TTL.
// Callers stop waiting at their own deadlines, as without a store.
//
// Failures are not shared: if EEO refuses the holder's request, the lock
// is released without a token and the next replica to take it sends its
// own request, then backs off as without a store.
//
// A refresh (Cache.Refresh, or the background refresh ahead of expiry,
// which every replica reaches at the same time) goes the same way, but
// takes only a token other than the one it replaces: the first replica
// fetches, the others adopt its token.
//
// A 401 (Cache.Invalidate, InvalidateFingerprint, Drop) drops the shared
// token with InvalidateIf, which keeps a newer token another replica
// stored; the replica also remembers the fingerprint and never adopts it
// again.
//
// Every Options.SharedSyncInterval (default 2 s, less than the idle
// margin) a loop reconciles each cached token with the store: if this
// replica used it since the last round it Touches the shared idle
// deadline, so any replica's use counts; then it Loads the shared token. A
// later use elsewhere slides the local idle deadline; a different token
// (another replica refreshed) replaces the local one; no token (another
// replica invalidated it, or the store lost it, say Redis restarted empty)
// drops the local one, so the next call fetches through the lock and the
// replicas converge on one token again. No token is pushed back into an
// empty store: which replica's token should win is unclear after an
// outage, and one fetch under the lock settles it.
//
// A store that is also a SharedNotifier (redisstore is, through Redis
// pub/sub) announces every Store and InvalidateIf; each replica then runs
// the same reconciliation for that account at once, on the sync loop's
// goroutine, and a replica waiting for the lock's holder looks at once
// instead of at its next poll. So a token refreshed or invalidated on one replica stops
// being served by the others within a notice and a Load (about a
// millisecond on a LAN), and at worst — a notice lost while the
// subscription reconnects, or a store without notices — within
// SharedSyncInterval plus a round trip. Meanwhile a replica that still
// serves the old token and gets a 401 for it drops it and adopts the new
// one on the retry.
//
// # When the store fails
//
// Each call is bounded by Options.SharedCallTimeout. A failed or timed-out
// call marks the store down (Cache.SharedStatus, Options.OnSharedStatus,
// one WARN log line) and the Cache works as if it had none: local
// fetches, local tokens, no store calls on misses, so no caller waits out
// a timeout. A Token call that the local cache or EEO can satisfy never
// fails because of the store. The sync loop keeps trying each interval;
// the first call that succeeds marks it up again (one WARN line), and
// sharing resumes.
//
// Times are wall-clock times of the replicas, so their clocks must agree
// to well within the cache's idle and expiry margins (NTP does).
type SharedStore interface {
	// Load returns the account's shared token; ok is false when there is
	// none (never stored, expired, idle past its deadline, invalidated or
	// unreadable with this replica's key). The token's IdleDeadline is the
	// shared one: any replica's Touch moves it.
	Load(ctx context.Context, account string) (tok Token, ok bool, err error)
	// Lock takes the account's fetch lock for ttl. If another replica holds
	// it, the returned lease is not Held and Wait says how long the lock has
	// left: a holder that dies releases it by expiry.
	Lock(ctx context.Context, account string, ttl time.Duration) (FetchLease, error)
	// Store makes tok the account's shared token, if lease still holds the
	// lock and no later lease has stored one since; otherwise it returns
	// ErrLeaseLost and stores nothing. The token lives until the earlier of
	// its ExpiresAt and its IdleDeadline.
	Store(ctx context.Context, account string, lease FetchLease, tok Token) error
	// Unlock releases the lock if lease still holds it; a lock that expired
	// and was taken by another replica is left alone.
	Unlock(ctx context.Context, account string, lease FetchLease) error
	// Touch moves the shared idle deadline of the token with this
	// fingerprint forward to idleDeadline (never back, never past its
	// ExpiresAt). It reports false if that token is no longer the shared one.
	Touch(ctx context.Context, account, fingerprint string, idleDeadline time.Time) (bool, error)
	// InvalidateIf drops the shared token only if it is the one with this
	// fingerprint, so a late 401 for an old token cannot discard a newer
	// one. It reports whether it dropped one.
	InvalidateIf(ctx context.Context, account, fingerprint string) (bool, error)
}

// FetchLease is a SharedStore fetch lock held (or not) by one replica.
type FetchLease struct {
	// Held reports whether the lock was taken.
	Held bool
	// Fence orders leases: every taken lock has a larger one than the
	// lock taken before it, so a holder that stalled past its lock's
	// expiry cannot overwrite what a later holder stored.
	Fence int64
	// Wait, when not Held, is how long the current holder's lock has left.
	Wait time.Duration
}

// ErrLeaseLost is returned by SharedStore.Store when the lease no longer
// holds the lock (it expired and another replica took it) or a later lease
// has already stored a token.
var ErrLeaseLost = errors.New("shared token store: fetch lock lost")

// ErrSharedUnreadable is wrapped by a SharedStore.Load error when the store
// holds a token this replica cannot read (encrypted under another key, or
// altered). The Cache treats it as no shared token, and the store as up.
var ErrSharedUnreadable = errors.New("shared token store: token unreadable")

// SharedNotifier is implemented by a SharedStore that can tell replicas at
// once that an account's shared token changed (another replica stored or
// invalidated one). A Cache whose store implements it reconciles that
// account with the store on each notice, instead of at its next sync
// round; the sync loop stays, for notices lost while the connection is
// down.
type SharedNotifier interface {
	// Watch calls changed with the account's name each time a replica
	// stores or invalidates its shared token, until ctx ends, and then
	// returns. Notices may be lost (while reconnecting, say); changed must
	// not block.
	Watch(ctx context.Context, changed func(account string))
}
