package authtest

import (
	"context"
	"sync"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// SharedStore is an in-memory auth.SharedStore with the semantics of
// auth/redisstore (fenced lock, compare-and-invalidate, a token that
// lives until the earlier of its expiry and idle deadline), for tests of
// several Caches acting as replicas. Time is time.Now, so it follows a
// testing/synctest bubble's fake clock. A test can make it fail (Fail) or
// hang (Hang) to play a Redis outage.
type SharedStore struct {
	mu     sync.Mutex
	tokens map[string]sharedToken // guarded by mu
	locks  map[string]sharedLock  // guarded by mu
	fences map[string]int64       // guarded by mu
	fail   error                  // guarded by mu
	hang   bool                   // guarded by mu
	calls  map[string]int         // guarded by mu; by operation name
}

type sharedToken struct {
	tok   auth.Token
	fence int64
}

type sharedLock struct {
	fence int64
	until time.Time
}

var _ auth.SharedStore = (*SharedStore)(nil)

// Fail makes every call fail with err until Fail(nil).
func (s *SharedStore) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// Hang makes every call block until its context ends (a Redis that does
// not answer), or, with false, answer again.
func (s *SharedStore) Hang(hang bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = hang
}

// Flush forgets every token, lock and fence, as a restarted Redis without
// persistence would.
func (s *SharedStore) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens, s.locks, s.fences = nil, nil, nil
}

// Calls returns how many calls of the named operation ("Load", "Lock",
// "Store", "Unlock", "Touch", "InvalidateIf") were made, failed ones
// included.
func (s *SharedStore) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Peek returns the shared token without counting a call.
func (s *SharedStore) Peek(account string) (auth.Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.live(account)
	return t.tok, ok
}

// begin counts a call and plays the configured fault; it returns with mu
// held unless it returns an error.
func (s *SharedStore) begin(ctx context.Context, op string) error {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = make(map[string]int)
	}
	s.calls[op]++
	if s.hang {
		s.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	if s.fail != nil {
		err := s.fail
		s.mu.Unlock()
		return err
	}
	if s.tokens == nil {
		s.tokens, s.locks, s.fences = make(map[string]sharedToken), make(map[string]sharedLock), make(map[string]int64)
	}
	return nil
}

// live returns the account's token if it has not expired; mu is held.
func (s *SharedStore) live(account string) (sharedToken, bool) {
	t, ok := s.tokens[account]
	if !ok {
		return t, false
	}
	now := time.Now()
	if !now.Before(t.tok.ExpiresAt) || !now.Before(t.tok.IdleDeadline) {
		delete(s.tokens, account)
		return t, false
	}
	return t, true
}

// lockHeld returns the account's lock if it has not expired; mu is held.
func (s *SharedStore) lockHeld(account string) (sharedLock, bool) {
	l, ok := s.locks[account]
	if ok && !time.Now().Before(l.until) {
		delete(s.locks, account)
		return l, false
	}
	return l, ok
}

// Load implements auth.SharedStore.
func (s *SharedStore) Load(ctx context.Context, account string) (auth.Token, bool, error) {
	if err := s.begin(ctx, "Load"); err != nil {
		return auth.Token{}, false, err
	}
	defer s.mu.Unlock()
	t, ok := s.live(account)
	return t.tok, ok, nil
}

// Lock implements auth.SharedStore.
func (s *SharedStore) Lock(ctx context.Context, account string, ttl time.Duration) (auth.FetchLease, error) {
	if err := s.begin(ctx, "Lock"); err != nil {
		return auth.FetchLease{}, err
	}
	defer s.mu.Unlock()
	if l, held := s.lockHeld(account); held {
		return auth.FetchLease{Wait: time.Until(l.until)}, nil
	}
	s.fences[account]++
	fence := s.fences[account]
	s.locks[account] = sharedLock{fence: fence, until: time.Now().Add(ttl)}
	return auth.FetchLease{Held: true, Fence: fence}, nil
}

// Store implements auth.SharedStore.
func (s *SharedStore) Store(ctx context.Context, account string, lease auth.FetchLease, tok auth.Token) error {
	if err := s.begin(ctx, "Store"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if l, held := s.lockHeld(account); !lease.Held || !held || l.fence != lease.Fence {
		return auth.ErrLeaseLost
	}
	if tok.IdleDeadline.IsZero() {
		tok.IdleDeadline = tok.ExpiresAt
	}
	tok.Fingerprint = auth.Fingerprint(tok.AccessToken)
	s.tokens[account] = sharedToken{tok: tok, fence: lease.Fence}
	return nil
}

// Unlock implements auth.SharedStore.
func (s *SharedStore) Unlock(ctx context.Context, account string, lease auth.FetchLease) error {
	if err := s.begin(ctx, "Unlock"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if l, held := s.lockHeld(account); held && lease.Held && l.fence == lease.Fence {
		delete(s.locks, account)
	}
	return nil
}

// Touch implements auth.SharedStore.
func (s *SharedStore) Touch(ctx context.Context, account, fingerprint string, idleDeadline time.Time) (bool, error) {
	if err := s.begin(ctx, "Touch"); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	t, ok := s.live(account)
	if !ok || t.tok.Fingerprint != fingerprint {
		return false, nil
	}
	if idleDeadline.After(t.tok.IdleDeadline) {
		t.tok.IdleDeadline = idleDeadline
		s.tokens[account] = t
	}
	return true, nil
}

// InvalidateIf implements auth.SharedStore.
func (s *SharedStore) InvalidateIf(ctx context.Context, account, fingerprint string) (bool, error) {
	if err := s.begin(ctx, "InvalidateIf"); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	t, ok := s.live(account)
	if !ok || t.tok.Fingerprint != fingerprint {
		return false, nil
	}
	delete(s.tokens, account)
	return true, nil
}
