package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access/identity"
	"github.com/golang-jwt/jwt/v5"
)

// JWTConfig accepts JWTs from one issuer as bearer tokens.
type JWTConfig struct {
	// Issuer is the required iss claim.
	Issuer string
	// Audience must be among the token's aud claim: a token minted for
	// another service is refused.
	Audience string
	// Algorithms the issuer signs with, e.g. RS256, ES256, EdDSA. Only
	// asymmetric algorithms are accepted: "none" would take unsigned tokens
	// and HS* would make the key that verifies also the key that signs.
	Algorithms []string
	// JWKSFile is a JWK Set file, re-read when it changes. Exactly one of
	// JWKSFile and JWKSURL.
	JWKSFile string
	// JWKSURL is an https URL (plain http only to a loopback address)
	// serving the issuer's JWK Set, fetched at New and every RefreshEvery
	// after, and at once when a token names a kid the set lacks (at most
	// once per 30 s). Redirects are followed only on the same scheme and
	// host.
	JWKSURL string
	// CallerClaim names the claim holding the caller's identity; default
	// "sub".
	CallerClaim string
	// Leeway allows for clock skew on exp and nbf. An iat in the future is
	// allowed up to the larger of Leeway and DefaultIssuedAtLeeway.
	Leeway time.Duration
	// MaxLifetime caps exp − iat: a token minted to live longer is
	// refused, so a leaked one is useful for a bounded time. A token
	// without iat is refused if its exp is more than MaxLifetime away,
	// which bounds it the same way. Default DefaultMaxTokenLifetime.
	MaxLifetime time.Duration
	// HTTPClient fetches JWKSURL; nil uses a client of the Guard's own.
	// Its CheckRedirect is replaced: redirects stay on JWKSURL's scheme
	// and host.
	HTTPClient *http.Client
	// RefreshEvery is how often JWKSURL is re-fetched and JWKSFile checked
	// for changes; default 5m.
	RefreshEvery time.Duration
}

// Defaults for JWTConfig.
const (
	// DefaultCallerClaim is JWTConfig.CallerClaim when unset.
	DefaultCallerClaim = "sub"
	// DefaultRefreshEvery is JWTConfig.RefreshEvery when unset.
	DefaultRefreshEvery = 5 * time.Minute
	// DefaultMaxTokenLifetime is JWTConfig.MaxLifetime when unset.
	DefaultMaxTokenLifetime = 24 * time.Hour
	// DefaultIssuedAtLeeway is how far in the future iat may be, for clock
	// skew between the issuer and the gateway, unless Leeway is larger.
	DefaultIssuedAtLeeway = 60 * time.Second
)

// supportedAlgorithms are the asymmetric JWS algorithms the Guard verifies.
func supportedAlgorithms() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
}

// errUnknownKey: no key in the set has the token's kid and fits its alg.
var errUnknownKey = errors.New("no matching key")

// jwtVerifier verifies bearer JWTs and extracts the caller.
type jwtVerifier struct {
	parser      *jwt.Parser
	issuer      string
	claim       string
	keys        *keySet
	now         func() time.Time
	iatLeeway   time.Duration
	maxLifetime time.Duration
}

// newJWTVerifier validates cfg and loads the keys: a JWKS URL is fetched
// now, so a gateway that could verify no token fails at start.
func newJWTVerifier(ctx context.Context, cfg JWTConfig, now func() time.Time, log *slog.Logger) (*jwtVerifier, error) {
	if err := identity.CheckIssuer(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("JWT.Issuer: %w", err)
	}
	if cfg.Audience == "" {
		return nil, errors.New("JWT.Audience: required (without it a token minted for any other service would be accepted)")
	}
	if len(cfg.Algorithms) == 0 {
		return nil, fmt.Errorf("JWT.Algorithms: at least one required (supported: %s)", strings.Join(supportedAlgorithms(), ", "))
	}
	for i, alg := range cfg.Algorithms {
		switch {
		case strings.EqualFold(alg, "none"):
			return nil, fmt.Errorf("JWT.Algorithms[%d]: %q would accept unsigned tokens", i, alg)
		case strings.HasPrefix(strings.ToUpper(alg), "HS"):
			return nil, fmt.Errorf("JWT.Algorithms[%d]: %q is a shared-secret algorithm, refused: whoever can verify could also sign; use RS256, ES256 or EdDSA", i, alg)
		case !slices.Contains(supportedAlgorithms(), alg):
			return nil, fmt.Errorf("JWT.Algorithms[%d]: unsupported algorithm %q (supported: %s)", i, alg, strings.Join(supportedAlgorithms(), ", "))
		}
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("JWT.Leeway: must not be negative")
	}
	if cfg.RefreshEvery < 0 {
		return nil, errors.New("JWT.RefreshEvery: must not be negative")
	}
	if cfg.RefreshEvery == 0 {
		cfg.RefreshEvery = DefaultRefreshEvery
	}
	if cfg.MaxLifetime < 0 {
		return nil, errors.New("JWT.MaxLifetime: must not be negative")
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = DefaultMaxTokenLifetime
	}
	if cfg.CallerClaim == "" {
		cfg.CallerClaim = DefaultCallerClaim
	}

	var keys *keySet
	switch {
	case cfg.JWKSFile != "" && cfg.JWKSURL != "":
		return nil, errors.New("JWT.JWKSFile, JWT.JWKSURL: set one, not both")
	case cfg.JWKSFile != "":
		src, err := newFileKeySet(ctx, cfg.JWKSFile, cfg.RefreshEvery, now, log)
		if err != nil {
			return nil, fmt.Errorf("JWT.JWKSFile: %w", err)
		}
		keys = src
	case cfg.JWKSURL != "":
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || u.Host == "" {
			return nil, errors.New("JWT.JWKSURL: not an absolute URL")
		}
		if !secureJWKSURL(u) {
			// Keys fetched in the clear could be swapped in transit, and
			// whoever swaps them can mint any caller. Plain http is left
			// for an identity provider on this host, which nothing on the
			// network can tamper with.
			return nil, errors.New("JWT.JWKSURL: must be https (http only to a loopback address)")
		}
		src, err := newURLKeySet(ctx, cfg.JWKSURL, cfg.HTTPClient, cfg.RefreshEvery, now, log)
		if err != nil {
			return nil, fmt.Errorf("JWT.JWKSURL: fetching the key set: %w", err)
		}
		keys = src
	default:
		return nil, errors.New("JWT.JWKSFile or JWT.JWKSURL: one is required to verify tokens")
	}

	return &jwtVerifier{
		parser: jwt.NewParser(
			jwt.WithValidMethods(slices.Clone(cfg.Algorithms)),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithTimeFunc(now),
		),
		issuer:      cfg.Issuer,
		claim:       cfg.CallerClaim,
		keys:        keys,
		now:         now,
		iatLeeway:   max(cfg.Leeway, DefaultIssuedAtLeeway),
		maxLifetime: cfg.MaxLifetime,
	}, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// looksLikeJWT reports whether a bearer token is shaped like a compact JWS
// (three dot-separated parts), so it is judged as a JWT rather than as an
// unknown API key.
func looksLikeJWT(token string) bool {
	return strings.Count(token, ".") == 2
}

// verify returns the identity a valid token proves, jwt:<issuer>#<caller
// claim>: the parser has checked iss is the configured issuer. Its errors are fixed
// phrases safe to send back: nothing from the token is repeated.
func (v *jwtVerifier) verify(ctx context.Context, token string) (string, error) {
	keyLookedUp := false
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		keyLookedUp = true
		return v.keys.keyFor(ctx, t)
	})
	if err != nil {
		return "", errTokenInvalid(jwtFailure(err, keyLookedUp, claims))
	}
	if why := v.checkLifetime(claims); why != "" {
		return "", errTokenInvalid(why)
	}
	name, _ := claims[v.claim].(string)
	if name == "" {
		return "", errTokenInvalid(fmt.Sprintf("token has no %q claim naming the caller", v.claim))
	}
	return identity.FromJWT(v.issuer, name), nil
}

// checkLifetime applies the rules golang-jwt has no option for: iat not in
// the future (beyond iatLeeway), and a lifetime of at most maxLifetime,
// measured from iat or, without one, from now. It returns "" for a token
// that passes, else a fixed explanation.
func (v *jwtVerifier) checkLifetime(claims jwt.MapClaims) string {
	now := v.now()
	iat, err := claims.GetIssuedAt()
	if err != nil {
		return `malformed "iat" claim`
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return `token has no "exp" claim`
	}
	start := now
	if iat != nil {
		if iat.After(now.Add(v.iatLeeway)) {
			return "token issued in the future"
		}
		start = iat.Time
	}
	if exp.Sub(start) > v.maxLifetime {
		return fmt.Sprintf("token lifetime exceeds the %v allowed", v.maxLifetime)
	}
	return ""
}

// jwtFailure turns a golang-jwt error into a short, fixed explanation. The
// library's own messages are not passed on: some quote header values.
func jwtFailure(err error, keyLookedUp bool, claims jwt.MapClaims) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case !keyLookedUp:
		// The parser refuses an algorithm outside Algorithms ("none"
		// included) or one it does not know before asking for a key.
		return "signing algorithm not allowed"
	case errors.Is(err, errUnknownKey):
		return "token signed by an unknown key"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		for _, c := range []string{"exp", "iss", "aud"} {
			if _, ok := claims[c]; !ok {
				return fmt.Sprintf("token has no %q claim", c)
			}
		}
		return "token lacks a required claim"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token used before issued"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	default:
		return "invalid claims"
	}
}

func (v *jwtVerifier) close() { v.keys.close() }
