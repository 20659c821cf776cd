package auth

import "time"

// TokenState says what the cache holds for an account.
type TokenState int

// The token states reported by Cache.Accounts.
const (
	// StateNone: no token cached.
	StateNone TokenState = iota + 1
	// StateFresh: a valid token is cached and no request is in flight.
	StateFresh
	// StateRefreshing: a token request is in flight.
	StateRefreshing
	// StateExpired: the cached token is past its expiry or idle deadline.
	StateExpired
)

// String returns the state's lower-case name.
func (s TokenState) String() string {
	switch s {
	case StateNone:
		return "none"
	case StateFresh:
		return "fresh"
	case StateRefreshing:
		return "refreshing"
	case StateExpired:
		return "expired"
	}
	return "unknown"
}

// AccountState is a snapshot of one account's cache entry for operators. It
// carries the token's fingerprint, never the token.
type AccountState struct {
	Name  string
	State TokenState
	// IssuedAt, LastUsedAt, IdleDeadline and ExpiresAt describe the cached
	// token; zero without one.
	IssuedAt     time.Time
	LastUsedAt   time.Time
	IdleDeadline time.Time
	ExpiresAt    time.Time
	Fingerprint  string
	// Fetches counts token requests sent to EEO, failed ones included.
	Fetches int64
	// LastError is the last request's failure; nil once one succeeds.
	LastError   error
	LastErrorAt time.Time
	// RetryAt is when requests may resume after failures; zero when not
	// backing off.
	RetryAt time.Time
}

// Accounts returns a snapshot of every account, sorted by name. Taking it
// does not count as a use of any token.
func (c *Cache) Accounts() []AccountState {
	now, slack := c.clock.reading()
	out := make([]AccountState, 0, len(c.names))
	for _, name := range c.names {
		out = append(out, c.entries[name].snapshot(c.clock, now, slack))
	}
	return out
}

func (e *entry) snapshot(clk *clock, now, slack int64) AccountState {
	s := AccountState{Name: e.name, State: StateNone}
	if st := e.current.Load(); st != nil {
		last := st.lastUse.Load()
		s.IssuedAt, s.ExpiresAt = st.token.IssuedAt, st.token.ExpiresAt
		s.LastUsedAt, s.IdleDeadline = clk.time(last), clk.time(last+st.idleUsable)
		s.Fingerprint = st.token.Fingerprint
		s.State = StateExpired
		if st.usable(now, slack) {
			s.State = StateFresh
		}
	}
	if e.fetching.Load() {
		s.State = StateRefreshing
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.Fetches, s.LastError, s.LastErrorAt = e.fetches, e.lastErr, e.lastErrAt
	if r := e.retryAt.Load(); now < r {
		s.RetryAt = clk.time(r)
	}
	return s
}
