package auth

import (
	"context"
	"errors"
	"time"
)

// SharedStore is where replicas of the gateway share one token per account
// (issue 14), so that an upstream keeping one active token per client does
// not see each replica fetch, and revoke, its own. auth/redisstore
// implements it on Redis.
//
// Work in progress: Cache does not use a SharedStore yet. The intended use
// keeps the lock-free in-process hit path in front: on a local miss the
// Cache Loads the shared token; if there is none it takes the account's
// FetchLock, Loads again (another replica may have just stored one),
// fetches from EEO and Stores under the lease, then Unlocks; replicas that
// find the lock held wait for the stored token instead of fetching. A 401
// drops the shared token with InvalidateIf, which keeps a newer token
// another replica stored. Uses slide the shared idle deadline with Touch.
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
