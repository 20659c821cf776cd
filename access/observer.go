package access

// Outcomes of an authentication, as Observer.Authenticated reports them.
const (
	AuthOK                 = "ok"
	AuthMissingCredentials = "missing_credentials"
	AuthInvalidCredentials = "invalid_credentials"
	// AuthRateLimited: a JWT refused unverified because its address failed
	// verification too often (Config.Unauthenticated).
	AuthRateLimited = "rate_limited"
)

// AuthViaBearer and AuthViaNone name how a failed authentication was
// attempted: a bearer token (API key or JWT) that did not verify, or no
// credential at all.
const (
	AuthViaBearer = "bearer"
	AuthViaNone   = "none"
)

// Observer is told the Guard's decisions, for metrics. Its methods are
// called on the calls' goroutines, so they must be quick and safe for
// concurrent use. Caller names are whatever identity the caller proved
// (configured for API keys, taken from the credential for JWTs and
// certificates): an Observer that labels metrics with them must bound
// them itself. Embed NopObserver to implement only some methods.
type Observer interface {
	// Authenticated reports an authentication: how it was done (a Via
	// constant; AuthViaBearer or AuthViaNone when it failed) and its
	// outcome (AuthOK, AuthMissingCredentials, AuthInvalidCredentials,
	// AuthRateLimited). Refusals at a stream's headers (TapHandle) are
	// reported too, once each.
	Authenticated(via, outcome string)
	// Denied reports a call refused for lack of permission.
	Denied(caller string, perm Permission)
	// RateLimited reports a call refused by the caller's rate limit.
	RateLimited(caller string)
	// TransferLimited reports a stream refused because its caller already
	// had Config.MaxConcurrentTransfersPerCaller open.
	TransferLimited(caller string)
}

// NopObserver is an Observer that does nothing.
type NopObserver struct{}

// Authenticated implements Observer.
func (NopObserver) Authenticated(string, string) {}

// Denied implements Observer.
func (NopObserver) Denied(string, Permission) {}

// RateLimited implements Observer.
func (NopObserver) RateLimited(string) {}

// TransferLimited implements Observer.
func (NopObserver) TransferLimited(string) {}
