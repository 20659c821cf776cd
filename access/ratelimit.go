package access

import (
	"container/list"
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit bounds each caller's request rate: a token bucket per caller
// name, so one noisy caller cannot starve the others of the gateway or of
// EEO's own rate limit.
type RateLimit struct {
	// PerSecond is the sustained rate per caller; zero means unlimited.
	PerSecond float64
	// Burst is how many calls a caller may make at once; default
	// PerSecond rounded up, at least 1.
	Burst int
	// MaxCallers bounds how many callers' buckets are kept; the least
	// recently seen is dropped first, so memory stays bounded however many
	// identities appear. Default 10000. A dropped caller starts again with a
	// full bucket, which is why the bound should exceed the number of
	// active callers.
	MaxCallers int
}

// DefaultMaxCallers is RateLimit.MaxCallers when unset.
const DefaultMaxCallers = 10000

// limiters holds a token bucket per caller in an LRU of bounded size.
type limiters struct {
	limit rate.Limit
	burst int
	max   int

	mu    sync.Mutex
	order *list.List               // of *bucket, most recently used first
	byKey map[string]*list.Element // caller name → element of order
}

type bucket struct {
	caller string
	lim    *rate.Limiter
}

// newLimiters validates cfg; it returns nil for an unlimited rate.
func newLimiters(cfg RateLimit) (*limiters, error) {
	switch {
	case cfg.PerSecond < 0 || math.IsNaN(cfg.PerSecond) || math.IsInf(cfg.PerSecond, 0):
		return nil, errors.New("RateLimit.PerSecond: must be a finite number ≥ 0")
	case cfg.Burst < 0:
		return nil, errors.New("RateLimit.Burst: must not be negative")
	case cfg.MaxCallers < 0:
		return nil, errors.New("RateLimit.MaxCallers: must not be negative")
	}
	if cfg.PerSecond == 0 {
		return nil, nil
	}
	if cfg.Burst == 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.PerSecond)))
	}
	if cfg.MaxCallers == 0 {
		cfg.MaxCallers = DefaultMaxCallers
	}
	return &limiters{
		limit: rate.Limit(cfg.PerSecond),
		burst: cfg.Burst,
		max:   cfg.MaxCallers,
		order: list.New(),
		byKey: make(map[string]*list.Element),
	}, nil
}

// take spends one token of caller's bucket at now. If the bucket is empty
// it spends nothing and returns how long until a token is due, which
// becomes the RetryInfo delay.
func (l *limiters) take(caller string, now time.Time) (wait time.Duration, ok bool) {
	lim := l.bucket(caller)
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		// Only when burst < 1, which newLimiters rules out.
		return time.Second, false
	}
	if d := r.DelayFrom(now); d > 0 {
		// Give the token back: a refused call must not push the caller's
		// next allowed call further out.
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// bucket returns caller's limiter, creating it and evicting the least
// recently used one beyond max.
func (l *limiters) bucket(caller string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.byKey[caller]; ok {
		l.order.MoveToFront(e)
		return e.Value.(*bucket).lim
	}
	b := &bucket{caller: caller, lim: rate.NewLimiter(l.limit, l.burst)}
	l.byKey[caller] = l.order.PushFront(b)
	for l.order.Len() > l.max {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.byKey, oldest.Value.(*bucket).caller)
	}
	return b.lim
}

// len is how many callers have a bucket.
func (l *limiters) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byKey)
}
