package auth

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// SharedStatus is the health of a Cache's SharedStore, for operators: a
// gauge, a status page. While the store is down the cache works as if it
// had none (each replica fetches and serves its own tokens), so readiness
// should not depend on it.
type SharedStatus struct {
	// Configured reports whether the cache has a SharedStore at all.
	Configured bool
	// Up is false from a failed or timed-out call to the store until one
	// succeeds again; it starts true.
	Up bool
	// Since is when Up last changed; zero if it never has.
	Since time.Time
	// LastError is the failure that took the store down; nil while up. It
	// names the account and the operation, never a token.
	LastError error
	// Transitions counts the changes of Up, down and back up alike.
	Transitions int64
}

// SharedStatus returns the shared store's health. Every change is also
// logged once at WARN and passed to Options.OnSharedStatus.
func (c *Cache) SharedStatus() SharedStatus {
	if c.shared == nil {
		return SharedStatus{}
	}
	return c.shared.status()
}

// sharedHealth tracks whether the shared store answers. Calls that succeed
// while it is up cost one atomic load.
type sharedHealth struct {
	logger   *slog.Logger
	onChange func(SharedStatus)
	down     atomic.Bool

	mu sync.Mutex
	st SharedStatus // guarded by mu
}

func newSharedHealth(logger *slog.Logger, onChange func(SharedStatus)) *sharedHealth {
	return &sharedHealth{logger: logger, onChange: onChange, st: SharedStatus{Configured: true, Up: true}}
}

func (h *sharedHealth) isDown() bool { return h.down.Load() }

func (h *sharedHealth) status() SharedStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st
}

// failed records a failed call: the first after a success takes the store
// down.
func (h *sharedHealth) failed(err error, now time.Time) {
	if h.down.Load() {
		return
	}
	h.set(false, err, now)
}

// succeeded records a successful call: the first after a failure brings
// the store back up.
func (h *sharedHealth) succeeded(now time.Time) {
	if !h.down.Load() {
		return
	}
	h.set(true, nil, now)
}

func (h *sharedHealth) set(up bool, err error, now time.Time) {
	h.mu.Lock()
	if h.st.Up == up {
		h.mu.Unlock()
		return
	}
	h.st.Up, h.st.Since, h.st.LastError = up, now, err
	h.st.Transitions++
	h.down.Store(!up)
	st := h.st
	h.mu.Unlock()
	if up {
		h.logger.Warn("shared token store is back: replicas share tokens again")
	} else {
		h.logger.Warn("shared token store unavailable: tokens are fetched and served by this replica alone until it answers",
			"error", err)
	}
	if h.onChange != nil {
		h.onChange(st)
	}
}
