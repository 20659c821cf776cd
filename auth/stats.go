package auth

import (
	"errors"
	"sync/atomic"
	"time"
)

// InvalidationCause says why a cached token stopped being served.
type InvalidationCause int

// The causes counted in AccountStats.Invalidations.
const (
	// CauseIdle: the token went unused for longer than the idle timeout
	// (less the margin); counted when the next caller finds it so.
	CauseIdle InvalidationCause = iota
	// CauseExpired: the token reached its expiry; counted when the next
	// caller finds it so.
	CauseExpired
	// CauseRejected: EEO answered 401 for it (Cache.Invalidate).
	CauseRejected
	// CauseInvalidated: a caller's InvalidateToken (Cache.InvalidateFingerprint
	// or Cache.Drop).
	CauseInvalidated
	// CauseSecretRotated: the account's client secret changed (Cache.Reset).
	CauseSecretRotated
	// CauseShared: the shared store (Options.Shared) no longer holds the
	// token: another replica refreshed it (ours is replaced by theirs) or
	// invalidated it, or the store lost it.
	CauseShared

	numCauses
)

// Causes lists every InvalidationCause, in order.
func Causes() []InvalidationCause {
	return []InvalidationCause{CauseIdle, CauseExpired, CauseRejected, CauseInvalidated, CauseSecretRotated, CauseShared}
}

// String returns the cause's lower-case name, as metrics label it.
func (c InvalidationCause) String() string {
	switch c {
	case CauseIdle:
		return "idle"
	case CauseExpired:
		return "expired"
	case CauseRejected:
		return "rejected_by_eeo"
	case CauseInvalidated:
		return "invalidate_token"
	case CauseSecretRotated:
		return "secret_rotation"
	case CauseShared:
		return "shared_store"
	}
	return "unknown"
}

// FetchReasonOK and FetchReasonOther are the FetchResults keys besides
// ErrorKind names: a successful request, and a failure that is no
// TokenError (the cache closing mid-request, say).
const (
	FetchReasonOK    = "ok"
	FetchReasonOther = "other"
)

// Slots of entryStats.fetches: success at 0, each ErrorKind at its own
// value (they run from 1 to KindRejected), then FetchReasonOther.
const (
	fetchSlotOK    = 0
	fetchSlotOther = int(KindRejected) + 1
	fetchSlots     = fetchSlotOther + 1
)

// entryStats are one account's counters but its hits (see hitCounts). They
// are atomics so that counting stays free of locks and allocations; Stats
// reads them when metrics are scraped.
type entryStats struct {
	misses              atomic.Int64
	joined              atomic.Int64
	backgroundRefreshes atomic.Int64
	backoffRejections   atomic.Int64
	adopted             atomic.Int64
	fetches             [fetchSlots]atomic.Int64
	invalidations       [numCauses]atomic.Int64
}

// countFetch counts a finished token request by outcome.
func (s *entryStats) countFetch(err error) {
	if err == nil {
		s.fetches[fetchSlotOK].Add(1)
		return
	}
	var te *TokenError
	if errors.As(err, &te) && te.Kind >= KindUnavailable && te.Kind <= KindRejected {
		s.fetches[te.Kind].Add(1)
		return
	}
	s.fetches[fetchSlotOther].Add(1)
}

// AccountStats are one account's cache counters since the Cache was built,
// and its current token's deadlines; Cache.Stats returns them for metrics.
type AccountStats struct {
	Name string
	// Hits are calls answered from the cache; Misses are calls that had to
	// wait for a token request (their own or one in flight).
	Hits, Misses int64
	// Joined counts callers that got their token from a request another
	// call had started (singleflight).
	Joined int64
	// BackgroundRefreshes counts refreshes started ahead of expiry.
	BackgroundRefreshes int64
	// BackoffRejections counts calls failed at once because token requests
	// were backing off after a failure.
	BackoffRejections int64
	// Adopted counts tokens taken from the shared store (Options.Shared),
	// stored there by another replica's request, instead of requesting one.
	Adopted int64
	// FetchResults counts token requests sent to EEO by outcome:
	// FetchReasonOK, an ErrorKind's String, or FetchReasonOther. Every key
	// is present.
	FetchResults map[string]int64
	// Invalidations counts tokens dropped, by cause. Every cause is present.
	Invalidations map[InvalidationCause]int64
	// HasToken says a token is cached; ExpiresAt and IdleDeadline are its
	// deadlines (the idle one as the cache reckons it, margin included).
	HasToken     bool
	ExpiresAt    time.Time
	IdleDeadline time.Time
}

// Stats returns every account's counters, sorted by name. It does not
// count as a use of any token.
func (c *Cache) Stats() []AccountStats {
	out := make([]AccountStats, 0, len(c.names))
	for _, name := range c.names {
		e := c.entries[name]
		s := &e.stats
		a := AccountStats{
			Name:                name,
			Hits:                c.hits.load(e.idx),
			Misses:              s.misses.Load(),
			Joined:              s.joined.Load(),
			BackgroundRefreshes: s.backgroundRefreshes.Load(),
			BackoffRejections:   s.backoffRejections.Load(),
			Adopted:             s.adopted.Load(),
			FetchResults:        make(map[string]int64, len(s.fetches)),
			Invalidations:       make(map[InvalidationCause]int64, numCauses),
		}
		a.FetchResults[FetchReasonOK] = s.fetches[fetchSlotOK].Load()
		for k := KindUnavailable; k <= KindRejected; k++ {
			a.FetchResults[k.String()] = s.fetches[k].Load()
		}
		a.FetchResults[FetchReasonOther] = s.fetches[fetchSlotOther].Load()
		for _, cause := range Causes() {
			a.Invalidations[cause] = s.invalidations[cause].Load()
		}
		if st := e.current.Load(); st != nil {
			a.HasToken = true
			a.ExpiresAt = st.token.ExpiresAt
			a.IdleDeadline = st.clock.time(st.lastUse.Load() + st.idleUsable)
		}
		out = append(out, a)
	}
	return out
}

// FetchReasons lists the FetchResults keys in a fixed order.
func FetchReasons() []string {
	out := []string{FetchReasonOK}
	for k := KindUnavailable; k <= KindRejected; k++ {
		out = append(out, k.String())
	}
	return append(out, FetchReasonOther)
}
