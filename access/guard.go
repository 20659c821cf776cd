package access

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access/identity"
	"github.com/eeo-gateway/eeo-gateway/internal/callnote"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// maxBearerBytes bounds a bearer token: far above any real API key or JWT,
// low enough that parsing one costs little.
const maxBearerBytes = 16 << 10

// Config is how a Guard authenticates, authorizes, rate-limits and audits.
type Config struct {
	// APIKeys are static bearer credentials, by hash.
	APIKeys []APIKey
	// JWT, if set, accepts bearer JWTs from one issuer.
	JWT *JWTConfig
	// MTLS accepts a verified client certificate as identity: its URI SAN
	// (spiffe://… or x509:uri:…) first, else its first DNS SAN
	// (x509:dns:…), else its Subject CN (x509:cn:…).
	// It covers certificates on the gRPC connection and, through
	// Guard.ForwardCertificate, on the REST facade's.
	MTLS bool
	// Policies grant callers permissions on accounts. Anything not granted
	// is denied. Each names its caller's identity with its kind (package
	// identity); one that no configured credential could prove is refused.
	Policies []Policy
	// Reflection says who may use server reflection; default
	// ReflectionAuthenticated.
	Reflection Reflection
	// RateLimit bounds each caller's request rate; zero means unlimited.
	RateLimit RateLimit
	// Audit receives one "audit" event per audited or refused call, and
	// JWKS reload notices; nil discards them. A GetToken served from the
	// token cache, without reaching EEO, is routine and not audited unless
	// AuditTokenCacheHits is set; every other GetToken (one that waited for
	// a token request to EEO, or failed, or was refused) is.
	Audit *slog.Logger
	// AuditTokenCacheHits audits GetToken calls served from the token cache
	// too: an event per call, which at high call rates costs more than the
	// rest of the call.
	AuditTokenCacheHits bool
	// Observer is told of authentications, permission denials and rate
	// limit refusals, for metrics; nil tells no one.
	Observer Observer
	// Now is the clock for JWT validity, rate limits and JWKS file checks;
	// nil means time.Now.
	Now func() time.Time
	// AllowUnauthenticated turns access control off: every call is made by
	// caller "anonymous" (via "unauthenticated") with every permission on
	// every account; credentials are not even looked at. Rate limits,
	// audit events and the reflection setting still apply. For local
	// development only; New logs a warning to Audit when it is on, and
	// refuses it together with APIKeys, JWT, MTLS or Policies, which it
	// would ignore.
	AllowUnauthenticated bool
	// Unauthenticated bounds what failed authentication costs, per peer
	// address: a failure rate, and audit events aggregated per interval.
	Unauthenticated Unauthenticated
	// MaxConcurrentTransfersPerCaller bounds each caller's open streams
	// (uploads, downloads, watches); more are refused with
	// RESOURCE_EXHAUSTED (ReasonTransferLimit). Default 32.
	MaxConcurrentTransfersPerCaller int
}

// Guard authenticates, rate-limits, authorizes and audits gRPC calls. Its
// interceptors are safe for concurrent use.
type Guard struct {
	obs        Observer
	now        func() time.Time
	anonymous  bool
	keys       *apiKeys
	jwt        *jwtVerifier
	mtls       bool
	forward    *forwarder
	policies   policies
	reflection Reflection
	limits     *limiters // nil: unlimited
	audit      auditor
	auditHits  bool // Config.AuditTokenCacheHits
	unauth     *unauthTracker
	transfers  *transferSlots
	// unauthenticated is the error for a call without credentials; its
	// message lists the ways to authenticate this Guard accepts.
	unauthenticated error
	closeOnce       sync.Once
}

// New validates cfg and builds a Guard. Errors name the Config field at
// fault. With a JWKS URL it fetches the key set before returning and keeps
// refreshing it until Close.
func New(cfg Config) (*Guard, error) {
	g, err := newGuard(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	return g, nil
}

func newGuard(ctx context.Context, cfg Config) (*Guard, error) {
	wallClock := cfg.Now == nil
	if wallClock {
		cfg.Now = time.Now
	}
	if cfg.Audit == nil {
		cfg.Audit = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	switch cfg.Reflection {
	case ReflectionAuthenticated, ReflectionPublic, ReflectionOff:
	default:
		return nil, fmt.Errorf("Reflection: unknown mode %d", int(cfg.Reflection))
	}
	if cfg.AllowUnauthenticated && (len(cfg.APIKeys) > 0 || cfg.JWT != nil || cfg.MTLS || len(cfg.Policies) > 0) {
		// Never ignore rules silently: with access control off no
		// credential is looked at and no policy applies.
		return nil, errors.New("AllowUnauthenticated: set together with APIKeys, JWT, MTLS or Policies, which it would silently ignore; use one or the other")
	}
	g := &Guard{
		now:        cfg.Now,
		anonymous:  cfg.AllowUnauthenticated,
		mtls:       cfg.MTLS,
		reflection: cfg.Reflection,
		audit:      auditor{log: cfg.Audit, now: cfg.Now, wallClock: wallClock},
		auditHits:  cfg.AuditTokenCacheHits,
		obs:        cfg.Observer,
	}
	var err error
	if g.unauth, err = newUnauthTracker(cfg.Unauthenticated, cfg.Now); err != nil {
		return nil, err
	}
	if g.transfers, err = newTransferSlots(cfg.MaxConcurrentTransfersPerCaller); err != nil {
		return nil, err
	}
	if g.keys, err = newAPIKeys(cfg.APIKeys); err != nil {
		return nil, err
	}
	if g.policies, err = newPolicies(cfg.Policies, enabledIdentities(cfg)); err != nil {
		return nil, err
	}
	if g.limits, err = newLimiters(cfg.RateLimit); err != nil {
		return nil, err
	}
	if g.forward, err = newForwarder(); err != nil {
		return nil, fmt.Errorf("generating the facade secret: %w", err)
	}
	if len(cfg.APIKeys) == 0 && cfg.JWT == nil && !cfg.MTLS && !cfg.AllowUnauthenticated {
		return nil, errors.New("APIKeys, JWT, MTLS: no way for a caller to authenticate; configure at least one (or, for development only, AllowUnauthenticated)")
	}
	// Built last: it may start a goroutine, and nothing after it can fail.
	if cfg.JWT != nil {
		if g.jwt, err = newJWTVerifier(ctx, *cfg.JWT, cfg.Now, cfg.Audit); err != nil {
			return nil, err
		}
	}
	g.unauthenticated = rpcerr.New(codes.Unauthenticated, ReasonUnauthenticated, unauthenticatedMessage(cfg), nil)
	if g.anonymous {
		cfg.Audit.LogAttrs(ctx, slog.LevelWarn, "access control is OFF: every call is allowed as caller \"anonymous\" (AllowUnauthenticated); never run this way in production")
	}
	return g, nil
}

// enabledIdentities says which identities cfg can authenticate, so a
// policy naming one it cannot is refused.
func enabledIdentities(cfg Config) identity.Enabled {
	on := identity.Enabled{Certificates: cfg.MTLS}
	for _, k := range cfg.APIKeys {
		on.APIKeyCallers = append(on.APIKeyCallers, k.Caller)
	}
	if cfg.JWT != nil {
		on.JWTIssuer = cfg.JWT.Issuer
	}
	return on
}

// unauthenticatedMessage tells a caller without credentials how to get in,
// naming only the ways this Guard accepts.
func unauthenticatedMessage(cfg Config) string {
	var ways []string
	switch {
	case len(cfg.APIKeys) > 0 && cfg.JWT != nil:
		ways = append(ways, `send "authorization: Bearer <API key or JWT>" metadata (REST: the Authorization header)`)
	case len(cfg.APIKeys) > 0:
		ways = append(ways, `send "authorization: Bearer <API key>" metadata (REST: the Authorization header)`)
	case cfg.JWT != nil:
		ways = append(ways, `send "authorization: Bearer <JWT>" metadata (REST: the Authorization header)`)
	}
	if cfg.MTLS {
		ways = append(ways, "connect with a client certificate the gateway trusts")
	}
	return "this method requires caller credentials: " + strings.Join(ways, ", or ")
}

// Close stops the JWKS refresh, if any, and writes the authentication
// failure summaries still due. It is safe to call more than once.
func (g *Guard) Close() {
	g.closeOnce.Do(func() {
		for _, s := range g.unauth.flush() {
			g.audit.writeSummary(context.Background(), s)
		}
		if g.jwt != nil {
			g.jwt.close()
		}
	})
}

// UnaryInterceptor returns the interceptor for unary calls. Install it
// after recovery and logging, so those see the Guard's refusals.
func (g *Guard) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		rule := ruleFor(info.FullMethod)
		switch rule.kind {
		case kindPublic:
			return handler(ctx, req)
		case kindReflection:
			ctx, err := g.admitReflection(ctx, info.FullMethod)
			if err != nil {
				return nil, err
			}
			return handler(ctx, req)
		}
		// The access log's note, if it is installed around the Guard.
		outer, _ := callnote.From(ctx)
		rec := g.audit.startRecord(ctx, info.FullMethod, outer)
		rec.setRequest(rule, req)
		caller, err := g.admit(ctx, rule, &rec, outer)
		if err != nil {
			return nil, err
		}
		if err := g.authorizeCall(caller, rule, info.FullMethod, rec.account); err != nil {
			g.audit.write(ctx, rec, err)
			return nil, err
		}
		hctx := withCaller(ctx, caller)
		if rule.listsAccounts {
			hctx = g.restrictView(hctx, caller)
		}
		var note *callnote.Note
		if rule.audit && rule.hitsRoutine && !g.auditHits {
			// One note per call: the access log's if there is one, which
			// the handler's CacheHit finds as well.
			if note = outer; note == nil {
				hctx, note = callnote.With(hctx)
			}
		}
		resp, err := handler(hctx, req)
		if rule.audit && (err != nil || note == nil || !note.CacheHit()) {
			g.audit.write(ctx, rec, err)
		}
		if err != nil {
			return resp, err
		}
		return g.visibleOnly(caller, resp), nil
	}
}

// StreamInterceptor returns the interceptor for streaming calls. For a
// method whose account is in the request (WatchImport, WatchReport,
// DownloadReport, CreateImport's metadata) it reads the first message and
// authorizes it before the handler starts, then hands that message to the
// handler's first RecvMsg: a refused stream fails without the handler
// running or seeing any of its data.
func (g *Guard) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		rule := ruleFor(info.FullMethod)
		switch rule.kind {
		case kindPublic:
			return handler(srv, ss)
		case kindReflection:
			ctx, err := g.admitReflection(ctx, info.FullMethod)
			if err != nil {
				return err
			}
			return handler(srv, &guardedStream{ServerStream: ss, ctx: ctx})
		}
		outer, _ := callnote.From(ctx)
		rec := g.audit.startRecord(ctx, info.FullMethod, outer)
		caller, err := g.admit(ctx, rule, &rec, outer)
		if err != nil {
			return err
		}
		// Refuse a caller without the permission before reading anything.
		if err := g.authorizeMethod(caller, rule, info.FullMethod); err != nil {
			g.audit.write(ctx, rec, err)
			return err
		}
		// Every guarded stream is long-lived (an upload, a download, a
		// watch): it counts against the caller's share from now on.
		key := g.transferKey(ctx, caller)
		if !g.transfers.acquire(key) {
			err := errTransferLimit(caller, g.transfers.max)
			g.obs.TransferLimited(caller.Name)
			if rule.audit {
				g.audit.write(ctx, rec, err)
			}
			return err
		}
		defer g.transfers.release(key)
		var first proto.Message
		if rule.newFirst != nil {
			first = rule.newFirst()
			if err := ss.RecvMsg(first); err != nil {
				if errors.Is(err, io.EOF) {
					err = rpcerr.New(codes.InvalidArgument, ReasonInvalidArgument, "the stream ended before its first request message", nil)
				}
				if rule.audit {
					g.audit.write(ctx, rec, err)
				}
				return err
			}
			rec.setRequest(rule, first)
		}
		if err := g.authorizeCall(caller, rule, info.FullMethod, rec.account); err != nil {
			g.audit.write(ctx, rec, err)
			return err
		}
		err = handler(srv, &guardedStream{ServerStream: ss, ctx: withCaller(ctx, caller), first: first})
		if rule.audit {
			g.audit.write(ctx, rec, err)
		}
		return err
	}
}

// admit authenticates the caller and charges its rate limit. A failed
// authentication is always audited; a rate-limit refusal only for audited
// methods, so a flood of refused calls does not become a flood of audit
// events. The caller, once authenticated, goes into note (the access
// log's, nil without one), refused or not.
func (g *Guard) admit(ctx context.Context, rule methodRule, rec *auditRecord, note *callnote.Note) (Caller, error) {
	caller, err := g.authenticate(ctx)
	g.observeAuthentication(ctx, caller, err)
	if err != nil {
		g.auditUnauthenticated(ctx, *rec, err)
		return Caller{}, err
	}
	if note != nil {
		note.SetCaller(caller.Name)
	}
	rec.caller = caller
	if g.limits != nil {
		if wait, ok := g.limits.take(caller.Name, g.now()); !ok {
			g.obs.RateLimited(caller.Name)
			err := errRateLimited(caller, wait)
			if rule.audit {
				g.audit.write(ctx, *rec, err)
			}
			return Caller{}, err
		}
	}
	return caller, nil
}

// admitReflection applies Config.Reflection to a reflection call.
func (g *Guard) admitReflection(ctx context.Context, method string) (context.Context, error) {
	switch g.reflection {
	case ReflectionPublic:
		return ctx, nil
	case ReflectionOff:
		return nil, rpcerr.New(codes.Unimplemented, ReasonReflectionDisabled, "server reflection is disabled on this gateway", nil)
	}
	outer, _ := callnote.From(ctx)
	rec := g.audit.startRecord(ctx, method, outer)
	caller, err := g.admit(ctx, methodRule{kind: kindReflection}, &rec, outer)
	if err != nil {
		return nil, err
	}
	return withCaller(ctx, caller), nil
}

// authenticate establishes who is calling, trying in turn a bearer token
// (API key, then JWT), the connection's client certificate and a
// certificate identity forwarded by the REST facade. A bearer token that is
// presented but invalid fails the call even if a certificate would do: the
// client asked to be judged by it, and silently falling back would hide a
// broken credential.
func (g *Guard) authenticate(ctx context.Context) (Caller, error) {
	if g.anonymous {
		return Caller{Name: AnonymousCaller, Via: ViaUnauthenticated}, nil
	}
	if c, ok := g.screenedCaller(ctx); ok {
		return c, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if vals := md.Get("authorization"); len(vals) > 0 {
		return g.bearer(ctx, vals)
	}
	if g.mtls {
		if id, ok := peerIdentity(ctx); ok {
			return Caller{Name: id, Via: ViaMTLS}, nil
		}
		if id, ok := g.forward.identity(md); ok {
			return Caller{Name: id, Via: ViaMTLS}, nil
		}
	}
	return Caller{}, g.unauthenticated
}

// bearer authenticates an "authorization: Bearer <token>" value. Its
// errors never contain the token.
func (g *Guard) bearer(ctx context.Context, vals []string) (Caller, error) {
	token, err := bearerToken(vals)
	if err != nil {
		return Caller{}, err
	}
	if name, ok := g.keys.match(token); ok {
		return Caller{Name: name, Via: ViaAPIKey}, nil
	}
	if g.jwt != nil && looksLikeJWT(token) {
		name, err := g.jwt.verify(ctx, token)
		if err != nil {
			g.unauth.verifyFailed(ctx)
			return Caller{}, err
		}
		return Caller{Name: name, Via: ViaJWT}, nil
	}
	return Caller{}, errTokenInvalid("unknown API key")
}

// authorizeMethod checks what can be checked before a streaming call's
// request is read: see methodRefusal.
func (g *Guard) authorizeMethod(caller Caller, rule methodRule, method string) error {
	return g.observeDenial(caller, rule, g.methodRefusal(caller, rule, method, ""))
}

// authorizeCall checks a call whose request is known: the method as
// authorizeMethod does, then the caller's permission on the account the
// request names — unless the method's rule says it concerns no account.
func (g *Guard) authorizeCall(caller Caller, rule methodRule, method, account string) error {
	if err := g.methodRefusal(caller, rule, method, account); err != nil || g.anonymous || rule.account == accountNone {
		return g.observeDenial(caller, rule, err)
	}
	if !g.policies.allows(caller.Name, rule.perm, account) {
		return g.observeDenial(caller, rule, errPermissionDenied(caller, rule.perm, account,
			fmt.Sprintf("caller %q lacks permission %q on account %q", clip(caller.Name), rule.perm, clip(account))))
	}
	return nil
}

// observeDenial tells the Observer of a refusal, and returns err.
func (g *Guard) observeDenial(caller Caller, rule methodRule, err error) error {
	if err != nil {
		g.obs.Denied(caller.Name, rule.perm)
	}
	return err
}

// observeAuthentication tells the Observer how an authentication went.
func (g *Guard) observeAuthentication(ctx context.Context, caller Caller, err error) {
	if err == nil {
		g.obs.Authenticated(caller.Via, AuthOK)
		return
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get("authorization")) > 0 {
		g.obs.Authenticated(AuthViaBearer, AuthInvalidCredentials)
		return
	}
	g.obs.Authenticated(AuthViaNone, AuthMissingCredentials)
}

// methodRefusal refuses a call the method alone rules out: an unknown or
// non-guarded method, a rule that does not say where its account comes
// from (whoever calls), or a caller without the method's permission on any
// account. account, if known, goes into the error's metadata.
func (g *Guard) methodRefusal(caller Caller, rule methodRule, method, account string) error {
	if rule.kind != kindGuarded || rule.account == accountUnset {
		return rpcerr.New(codes.PermissionDenied, ReasonPermissionDenied,
			fmt.Sprintf("method %s is not open to callers", method),
			map[string]string{"caller": caller.Name, "method": method})
	}
	if g.anonymous {
		return nil
	}
	if !g.policies.hasPermission(caller.Name, rule.perm) {
		return errPermissionDenied(caller, rule.perm, account,
			fmt.Sprintf("caller %q lacks permission %q", caller.Name, rule.perm))
	}
	return nil
}

// guardedStream is the stream the handler sees: its context carries the
// caller, and its first RecvMsg returns the message the Guard already read
// to authorize the call.
type guardedStream struct {
	grpc.ServerStream
	ctx   context.Context
	first proto.Message
}

// Context returns the call's context with the authenticated caller.
func (s *guardedStream) Context() context.Context { return s.ctx }

// RecvMsg hands over the pre-read first message once, then reads on.
func (s *guardedStream) RecvMsg(m any) error {
	if s.first == nil {
		return s.ServerStream.RecvMsg(m)
	}
	first := s.first
	s.first = nil
	dst, ok := m.(proto.Message)
	if !ok || dst.ProtoReflect().Descriptor().FullName() != first.ProtoReflect().Descriptor().FullName() {
		return status.Error(codes.Internal, "internal error")
	}
	proto.Reset(dst)
	proto.Merge(dst, first)
	return nil
}
