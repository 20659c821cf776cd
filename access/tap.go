package access

import (
	"context"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/internal/ctxvalue"
	"github.com/eeo-gateway/eeo-gateway/internal/preauth"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/tap"
)

// TapHandle returns a grpc tap, for grpc.InTapHandle (server.Config
// StreamTap), that judges a call when its headers arrive, before grpc-go
// reads any of its request: a call to a method that needs credentials is
// refused there unless it carries one of an acceptable form. Without it,
// grpc-go would read a whole unary request (up to the receive limit) before
// the interceptor could refuse it.
//
// The tap runs on the connection's reader with the transport locked, so it
// does no I/O and nothing slow: an API key is matched (a SHA-256 and a
// map lookup, as cheap as any shape check, and the only way to tell a
// made-up key from a real one), and the interceptor reuses the result; a
// JWT is only checked for its shape, and verified by the interceptor, since
// verifying may fetch keys; a client certificate was verified by the TLS
// handshake already. A peer address whose authentication failures exceed
// Config.Unauthenticated's rate gets its JWTs refused here, unverified.
//
// The interceptors remain complete without the tap: it refuses earlier and
// more cheaply, never differently.
func (g *Guard) TapHandle() tap.ServerInHandle {
	return func(ctx context.Context, info *tap.Info) (context.Context, error) {
		if g.anonymous {
			// Something in front authenticates callers: trust them.
			return preauth.MarkAuthenticated(ctx), nil
		}
		switch rule := ruleFor(info.FullMethodName); rule.kind {
		case kindPublic, kindUnknown:
			// Unknown methods are refused by grpc-go or the interceptor,
			// whoever calls.
			return ctx, nil
		case kindReflection:
			if g.reflection != ReflectionAuthenticated {
				return ctx, nil
			}
		}
		caller, verified, err := g.screen(ctx, info.Header)
		if err != nil {
			g.refuseUnauthenticated(ctx, info.FullMethodName, err)
			return nil, err
		}
		switch {
		case caller != (Caller{}):
			ctx = ctxvalue.With[screenedKey](ctx, screened{guard: g, caller: caller})
			ctx = preauth.MarkAuthenticated(ctx)
		case verified:
			ctx = preauth.MarkAuthenticated(ctx)
		}
		return ctx, nil
	}
}

// screenedKey is the context key of the caller the tap authenticated.
type screenedKey struct{}

// screened is a caller authenticated by a Guard's tap; only that Guard
// trusts it.
type screened struct {
	guard  *Guard
	caller Caller
}

// screenedCaller returns the caller g's tap authenticated for this call.
func (g *Guard) screenedCaller(ctx context.Context) (Caller, bool) {
	s, ok := ctxvalue.From[screenedKey, screened](ctx)
	if !ok || s.guard != g {
		return Caller{}, false
	}
	return s.caller, true
}

// screen is authenticate's cheap half. It returns the caller when it could
// verify the credential outright (an API key); verified without a caller
// when the credential is already verified but left to the interceptor to
// name (a client certificate the TLS handshake verified, one the REST
// facade vouches for); neither when it has an acceptable form but still
// needs verifying (a JWT); and otherwise the error the interceptor would
// give.
func (g *Guard) screen(ctx context.Context, md metadata.MD) (Caller, bool, error) {
	if vals := md.Get("authorization"); len(vals) > 0 {
		token, err := bearerToken(vals)
		if err != nil {
			return Caller{}, false, err
		}
		if name, ok := g.keys.match(token); ok {
			return Caller{Name: name, Via: ViaAPIKey}, true, nil
		}
		if g.jwt != nil && looksLikeJWT(token) {
			if err := g.unauth.admitUnverified(ctx); err != nil {
				return Caller{}, false, err
			}
			return Caller{}, false, nil
		}
		return Caller{}, false, errTokenInvalid("unknown API key")
	}
	if g.mtls {
		if _, ok := peerIdentity(ctx); ok {
			return Caller{}, true, nil
		}
		if _, ok := g.forward.identity(md); ok {
			return Caller{}, true, nil
		}
	}
	return Caller{}, false, g.unauthenticated
}

// bearerToken is the token of an "authorization: Bearer <token>" value, or
// the reason it is not one. Its errors never contain the token.
func bearerToken(vals []string) (string, error) {
	if len(vals) != 1 {
		return "", errTokenInvalid("more than one authorization value")
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errTokenInvalid(`unsupported authorization scheme; send "Bearer <token>"`)
	}
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return "", errTokenInvalid("empty bearer token")
	case len(token) > maxBearerBytes:
		return "", errTokenInvalid("bearer token too long")
	case strings.IndexFunc(token, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0:
		// RFC 6750's b64token is visible ASCII; no key or JWT has more.
		return "", errTokenInvalid("bearer token has characters no credential has")
	}
	return token, nil
}
