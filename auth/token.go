package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Grant is what EEO's token endpoint returned for one request.
type Grant struct {
	// AccessToken is the bearer credential.
	AccessToken Secret
	// TokenType is the type EEO named, "Bearer" when it named none.
	TokenType string
	// ExpiresIn is the lifetime EEO reported; zero when it reported none.
	ExpiresIn time.Duration
	// Scope is the scope EEO granted, if it said.
	Scope string
}

// Token is an access token handed out by the Cache, with the times that bound
// its use.
type Token struct {
	// Account is the configured account the token belongs to.
	Account string
	// AccessToken is the bearer credential to send to EEO.
	AccessToken Secret
	// TokenType is the type EEO issued, normally "Bearer".
	TokenType string
	// Fingerprint identifies AccessToken without revealing it (see Fingerprint).
	Fingerprint string
	// IssuedAt is when the request that obtained the token was sent: EEO's
	// clocks start no later than that.
	IssuedAt time.Time
	// ExpiresAt is when the cache stops serving the token whatever its use:
	// expires_in less a safety margin, capped by the maximum lifetime.
	ExpiresAt time.Time
	// IdleTimeout is EEO's inactivity rule applied to the token.
	IdleTimeout time.Duration
	// IdleDeadline is when the cache stops serving the token unless it is
	// used again: IdleTimeout less the idle margin after the last use.
	// Handing the token out counts as a use, so it is measured from about
	// now (the cache records uses to its clock resolution, 10 ms by
	// default, and may withdraw the token that much earlier).
	IdleDeadline time.Time
	// Fetched reports that the call was not a cache hit: it waited for
	// the account's fetch (started it, or joined it in flight), a token
	// request to EEO or, with a SharedStore, possibly a pick-up of another
	// replica's token. Audit logging counts it as issuance, as opposed to
	// a routine hit.
	Fetched bool
}

// Fingerprint returns a short, non-reversible identifier of an access token:
// the first 16 hex digits of its SHA-256. It is safe to log and to show in
// APIs, and lets a caller name the token it saw rejected.
func Fingerprint(accessToken Secret) string {
	sum := sha256.Sum256([]byte(accessToken.Reveal()))
	return hex.EncodeToString(sum[:8])
}
