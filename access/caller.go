package access

import (
	"context"

	"github.com/eeo-gateway/eeo-gateway/internal/ctxvalue"
)

// How a caller proved its identity: Caller.Via.
const (
	// ViaAPIKey: a bearer token whose SHA-256 matches a configured API key.
	ViaAPIKey = "api_key"
	// ViaJWT: a bearer JWT signed by a key from the configured JWKS.
	ViaJWT = "jwt"
	// ViaMTLS: a verified client certificate, on the gRPC connection or, for
	// REST, forwarded by the facade.
	ViaMTLS = "mtls"
	// ViaUnauthenticated: nobody proved anything; Config.AllowUnauthenticated
	// is on. Audit events carry it so such a deployment is obvious.
	ViaUnauthenticated = "unauthenticated"
)

// AnonymousCaller is the caller name of every call when
// Config.AllowUnauthenticated is on.
const AnonymousCaller = "anonymous"

// Caller is who made a call, as authenticated by the Guard.
type Caller struct {
	// Name is the identity policies are keyed by, with its kind so that
	// no two ways of authenticating can produce the same one (package
	// identity): apikey:<API key caller>, jwt:<issuer>#<caller claim>, or
	// for a client certificate spiffe://…, x509:uri:…, x509:dns:… or
	// x509:cn:….
	Name string
	// Via is how the identity was proved: ViaAPIKey, ViaJWT, ViaMTLS or
	// ViaUnauthenticated.
	Via string
}

// callerKey is the context key of the authenticated Caller; unexported so
// only this package can put a Caller into a context.
type callerKey struct{}

// CallerFrom returns the caller the Guard authenticated for this call. It is
// false for public methods (health) and outside a guarded call.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctxvalue.From[callerKey, Caller](ctx)
	if !ok {
		return Caller{}, false
	}
	return *c, true
}

// withCaller records the authenticated caller for handlers and logging.
func withCaller(ctx context.Context, c Caller) context.Context {
	return ctxvalue.With[callerKey](ctx, c)
}
