package auth

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrUnknownAccount is returned for an account name that is not configured.
var ErrUnknownAccount = errors.New("unknown account")

// ErrorKind classifies why a token request failed, so callers can map it to a
// status without parsing messages.
type ErrorKind int

// The kinds of token-request failure.
const (
	// KindUnavailable: EEO could not be reached, or answered 5xx.
	KindUnavailable ErrorKind = iota + 1
	// KindTimeout: EEO did not answer within the fetch timeout.
	KindTimeout
	// KindRateLimited: EEO answered 429.
	KindRateLimited
	// KindMalformed: EEO answered 2xx with a body that is not a token response.
	KindMalformed
	// KindInvalidClient: EEO rejected the configured client ID or secret. The
	// gateway's configuration is at fault, not the caller.
	KindInvalidClient
	// KindRejected: EEO refused the request for another reason
	// (invalid_grant, invalid_scope, unauthorized_client, or a 4xx without an
	// OAuth error).
	KindRejected
)

// String returns a stable lower-case name for the kind.
func (k ErrorKind) String() string {
	switch k {
	case KindUnavailable:
		return "unavailable"
	case KindTimeout:
		return "timeout"
	case KindRateLimited:
		return "rate_limited"
	case KindMalformed:
		return "malformed_response"
	case KindInvalidClient:
		return "invalid_client"
	case KindRejected:
		return "rejected"
	}
	return "unknown"
}

// Temporary reports whether trying again later may succeed without a change
// of configuration.
func (k ErrorKind) Temporary() bool {
	switch k {
	case KindUnavailable, KindTimeout, KindRateLimited, KindMalformed:
		return true
	}
	return false
}

// TokenError is a failed token request. Its message names the kind, the HTTP
// status and the OAuth error code, and never the credentials, the token or
// EEO's error_description, which may echo either.
type TokenError struct {
	// Kind classifies the failure.
	Kind ErrorKind
	// StatusCode is EEO's HTTP status; zero when no response arrived.
	StatusCode int
	// OAuthError is the RFC 6749 §5.2 "error" code EEO returned, if it was
	// a well-formed code.
	OAuthError string
	// RetryAfter is EEO's Retry-After, when it sent one.
	RetryAfter time.Duration
	// Err is the underlying cause, if any (a network or decoding error).
	Err error
}

// Error implements error.
func (e *TokenError) Error() string {
	msg := "eeo token request failed: " + e.Kind.String()
	if e.OAuthError != "" && e.OAuthError != e.Kind.String() {
		msg += " (" + e.OAuthError + ")"
	}
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(": HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *TokenError) Unwrap() error { return e.Err }

// FetchError is what the Cache returns when it has no valid token to serve
// because fetching one failed, now or recently.
type FetchError struct {
	// Account is the account whose token could not be fetched.
	Account string
	// Err is the fetch failure, usually a *TokenError.
	Err error
	// RetryAt is the earliest time the cache will ask EEO again; callers
	// before then get this error at once, without a request to EEO.
	RetryAt time.Time
	// Cached is true when the error is a recent failure replayed during
	// backoff rather than the outcome of a request made for this call.
	Cached bool
}

// Error implements error.
func (e *FetchError) Error() string {
	return fmt.Sprintf("account %q: %v", e.Account, e.Err)
}

// Unwrap returns the fetch failure.
func (e *FetchError) Unwrap() error { return e.Err }
