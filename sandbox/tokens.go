package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"time"
)

// tokenPrefix marks sandbox tokens so that one leaking into a log or a
// real EEO request is recognisable at a glance.
const tokenPrefix = "eeosbx_"

// Reasons a bearer token is refused; they appear in logs, never in responses.
var (
	errNoToken      = errors.New("no bearer token")
	errUnknownToken = errors.New("unknown token")
	errInactive     = errors.New("token inactive")
	errExpired      = errors.New("token past lifetime")
)

// tokenState is what the sandbox remembers about one live token.
type tokenState struct {
	clientID string
	issuedAt time.Time
	lastUsed time.Time // issuance, then the time of the latest accepted use
}

// tokenStore holds live access tokens. EEO tokens are opaque, so validity
// is a lookup plus the idle and lifetime rules rather than a signature check.
type tokenStore struct {
	idle     time.Duration // read-only
	lifetime time.Duration // read-only; <= 0 means none
	// oneActive makes an issuance revoke the client's earlier tokens, as
	// OAuth providers that keep one active token per client do; read-only.
	oneActive bool

	mu     sync.Mutex
	live   map[string]*tokenState // guarded by mu; keyed by access token
	issued []string               // guarded by mu; every token ever issued, for leak scans
}

func newTokenStore(idle, lifetime time.Duration, oneActive bool) *tokenStore {
	return &tokenStore{idle: idle, lifetime: lifetime, oneActive: oneActive, live: make(map[string]*tokenState)}
}

// newToken returns a fresh opaque access token.
func newToken() string {
	b := make([]byte, 32)
	// crypto/rand.Read never returns an error since Go 1.24; it crashes the
	// program instead, which is the only safe reaction to a broken RNG.
	_, _ = rand.Read(b)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// fingerprint identifies a token in logs without revealing it: a short
// SHA-256 prefix correlates log lines but is useless as a credential.
func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}

// check applies the token rules at now. The comparisons are >= so that a
// token is rejected at exactly IdleTimeout (or Lifetime), never accepted.
func (ts *tokenStore) check(t *tokenState, now time.Time) error {
	if now.Sub(t.lastUsed) >= ts.idle {
		return errInactive
	}
	if ts.lifetime > 0 && now.Sub(t.issuedAt) >= ts.lifetime {
		return errExpired
	}
	return nil
}

// add stores a new token issued at now and returns how many live tokens of
// the same client it revoked (always 0 unless oneActive). It also sweeps
// unusable tokens, so memory is bounded by live tokens rather than by
// issuances.
func (ts *tokenStore) add(token, clientID string, now time.Time) (revoked int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for k, t := range ts.live {
		switch {
		case ts.check(t, now) != nil:
			delete(ts.live, k)
		case ts.oneActive && t.clientID == clientID:
			delete(ts.live, k)
			revoked++
		}
	}
	ts.live[token] = &tokenState{clientID: clientID, issuedAt: now, lastUsed: now}
	ts.issued = append(ts.issued, token)
	return revoked
}

// use validates token at now and, if it is usable, slides its idle window
// and returns its client ID. Unusable tokens are forgotten on sight.
func (ts *tokenStore) use(token string, now time.Time) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.live[token]
	if !ok {
		return "", errUnknownToken
	}
	if err := ts.check(t, now); err != nil {
		delete(ts.live, token)
		return "", err
	}
	// Never move lastUsed backwards if an injected clock does.
	if now.After(t.lastUsed) {
		t.lastUsed = now
	}
	return t.clientID, nil
}

// IssuedTokens returns every access token the sandbox has issued, in order,
// including revoked and expired ones, so tests can scan output for leaks.
func (s *Sandbox) IssuedTokens() []string {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	return slices.Clone(s.tokens.issued)
}

// RevokeAll forgets every issued token, as if EEO had revoked them: the next
// protected request with any of them gets 401. New tokens can still be issued.
func (s *Sandbox) RevokeAll() {
	s.tokens.mu.Lock()
	n := len(s.tokens.live)
	clear(s.tokens.live)
	s.tokens.mu.Unlock()
	s.log.Info("sandbox: revoked all tokens", "count", n)
}
