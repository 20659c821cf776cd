package access_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// allPolicy grants caller everything on every account.
func allPolicy(caller string) access.Policy {
	return access.Policy{Caller: caller, Accounts: []string{"*"}, Permissions: []access.Permission{
		access.PermTokenGet, access.PermTokenRefresh, access.PermTokenInvalidate,
		access.PermImportsWrite, access.PermImportsRead, access.PermReportsWrite, access.PermReportsRead,
		access.PermAccountsList,
	}}
}

// callEvery calls every method of both services with empty requests and
// returns each one's error.
func callEvery(ctx context.Context, conn *grpc.ClientConn) map[string]error {
	out := map[string]error{}
	for _, sd := range []grpc.ServiceDesc{eeov1.TokenService_ServiceDesc, eeov1.ImportReportService_ServiceDesc} {
		for _, m := range sd.Methods {
			name := "/" + sd.ServiceName + "/" + m.MethodName
			out[name] = conn.Invoke(ctx, name, &emptypb.Empty{}, &emptypb.Empty{})
		}
		for _, s := range sd.Streams {
			name := "/" + sd.ServiceName + "/" + s.StreamName
			cs, err := conn.NewStream(ctx, &grpc.StreamDesc{StreamName: s.StreamName, ServerStreams: s.ServerStreams, ClientStreams: s.ClientStreams}, name)
			if err == nil {
				_ = cs.SendMsg(&emptypb.Empty{})
				_ = cs.CloseSend()
				err = cs.RecvMsg(&emptypb.Empty{})
			}
			out[name] = err
		}
	}
	return out
}

func TestNoCredentialsIsUnauthenticatedOnEveryRPCButHealth(t *testing.T) {
	key, k := apiKey(t, "payroll")
	e := newEnv(t, access.Config{APIKeys: []access.APIKey{k}, MTLS: true, Policies: []access.Policy{allPolicy(keyID("payroll"))}})
	ctx := testCtx(t)

	errs := callEvery(ctx, e.conn)
	if len(errs) != 18 {
		t.Fatalf("called %d methods, want all 18", len(errs))
	}
	for method, err := range errs {
		st := testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonUnauthenticated)
		if !strings.Contains(st.Message(), "Bearer") || !strings.Contains(st.Message(), "client certificate") {
			t.Errorf("%s: message %q does not say how to authenticate", method, st.Message())
		}
	}
	if n := e.tokens.count() + e.files.count(); n != 0 {
		t.Fatalf("handlers ran %d times for unauthenticated calls", n)
	}

	// Health is public, unary and streaming.
	hc := healthpb.NewHealthClient(e.conn)
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health Check: %v", err)
	}
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatalf("health Watch: %v", err)
	}
	// Health/List is neither public nor in the method table.
	_, err = hc.List(ctx, &healthpb.HealthListRequest{})
	testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonUnauthenticated)

	// The same calls with the key get past the Guard (to the fakes, or to
	// UNIMPLEMENTED for methods the fakes lack).
	for method, err := range callEvery(bearer(ctx, key), e.conn) {
		if c := codeOf(err); c == codes.Unauthenticated || c == codes.PermissionDenied {
			t.Errorf("%s with a valid key: %v", method, err)
		}
	}
}

func codeOf(err error) codes.Code { return status.Code(err) }

func TestUnknownMethodDenied(t *testing.T) {
	key, k := apiKey(t, "payroll")
	e := newEnv(t, access.Config{APIKeys: []access.APIKey{k}, Policies: []access.Policy{allPolicy(keyID("payroll"))}})
	_, err := healthpb.NewHealthClient(e.conn).List(bearer(testCtx(t), key), &healthpb.HealthListRequest{})
	testkit.WantStatus(t, err, codes.PermissionDenied, access.ReasonPermissionDenied)
}

func TestAPIKey(t *testing.T) {
	key, k := apiKey(t, "payroll")
	otherKey, other := apiKey(t, "billing")
	e := newEnv(t, access.Config{APIKeys: []access.APIKey{k, other}, Policies: []access.Policy{allPolicy(keyID("payroll")), allPolicy(keyID("billing"))}})
	ctx := testCtx(t)

	resp, err := e.tc.GetToken(bearer(ctx, key), &eeov1.GetTokenRequest{Account: "A"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetToken().GetAccessToken() != fakeAccessToken {
		t.Fatal("response did not come from the handler")
	}
	if got := e.tokens.last(); got != (access.Caller{Name: keyID("payroll"), Via: access.ViaAPIKey}) {
		t.Fatalf("handler saw caller %+v", got)
	}
	if _, err := e.tc.GetToken(bearer(ctx, otherKey), &eeov1.GetTokenRequest{Account: "A"}); err != nil {
		t.Fatal(err)
	}
	if got := e.tokens.last().Name; got != keyID("billing") {
		t.Fatalf("caller %q, want billing", got)
	}

	// Scheme is case-insensitive (RFC 7235).
	lower := metadata.AppendToOutgoingContext(ctx, "authorization", "bearer "+key)
	if _, err := e.tc.GetToken(lower, &eeov1.GetTokenRequest{Account: "A"}); err != nil {
		t.Fatalf("lower-case scheme: %v", err)
	}

	for name, tc := range map[string]struct {
		ctx  context.Context
		want string
	}{
		"wrong key":          {bearer(ctx, key+"x"), "unknown API key"},
		"basic scheme":       {metadata.AppendToOutgoingContext(ctx, "authorization", "Basic "+key), "unsupported authorization scheme"},
		"empty bearer":       {metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "), ""},
		"two authorizations": {metadata.AppendToOutgoingContext(bearer(ctx, key), "authorization", "Bearer "+otherKey), "more than one"},
		"jwt-shaped, no JWT": {bearer(ctx, "a.b.c"), "unknown API key"},
		"oversized":          {bearer(ctx, strings.Repeat("k", 17<<10)), "too long"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.tc.GetToken(tc.ctx, &eeov1.GetTokenRequest{Account: "A"})
			st := testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonTokenInvalid)
			if !strings.Contains(st.Message(), tc.want) {
				t.Errorf("message %q, want it to mention %q", st.Message(), tc.want)
			}
			if strings.Contains(st.Message(), key) || strings.Contains(st.Message(), otherKey) {
				t.Errorf("message %q echoes a key", st.Message())
			}
		})
	}
}

// jwtEnv starts a server accepting JWTs from a JWKS file holding signers.
func jwtEnv(t *testing.T, now *testkit.Clock, edit func(*access.JWTConfig), signers ...testkit.Signer) *env {
	t.Helper()
	path := testkit.JWKSFile(t, signers...)
	cfg := &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"ES256", "RS256", "EdDSA"}, JWKSFile: path}
	if edit != nil {
		edit(cfg)
	}
	return newEnv(t, access.Config{
		JWT:      cfg,
		Now:      now.Now,
		Policies: []access.Policy{allPolicy(jwtID("payroll-svc")), allPolicy(jwtID("client-42"))},
	})
}

func TestJWTValid(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	ec, rs, ed := testkit.ES256Signer(t, "ec-1"), testkit.RS256Signer(t, "rsa-1"), testkit.EdDSASigner(t, "ed-1")
	e := jwtEnv(t, now, nil, ec, rs, ed)
	for _, s := range []testkit.Signer{ec, rs, ed} {
		t.Run(s.Method.Alg(), func(t *testing.T) {
			tok := s.Sign(t, claims("payroll-svc", now.Now()))
			if _, err := e.tc.GetToken(bearer(testCtx(t), tok), &eeov1.GetTokenRequest{Account: "A"}); err != nil {
				t.Fatal(err)
			}
			if got := e.tokens.last(); got != (access.Caller{Name: jwtID("payroll-svc"), Via: access.ViaJWT}) {
				t.Fatalf("caller %+v", got)
			}
		})
	}
	t.Run("no kid", func(t *testing.T) {
		s := ec
		s.KID = ""
		tok := s.Sign(t, claims("payroll-svc", now.Now()))
		if _, err := e.tc.GetToken(bearer(testCtx(t), tok), &eeov1.GetTokenRequest{Account: "A"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("audience list", func(t *testing.T) {
		c := claims("payroll-svc", now.Now())
		c["aud"] = []string{"something-else", testAudience}
		if _, err := e.tc.GetToken(bearer(testCtx(t), ec.Sign(t, c)), &eeov1.GetTokenRequest{Account: "A"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("within leeway", func(t *testing.T) {
		e := jwtEnv(t, now, func(c *access.JWTConfig) { c.Leeway = time.Minute }, ec)
		c := claims("payroll-svc", now.Now())
		c["exp"] = now.Now().Add(-30 * time.Second).Unix()
		if _, err := e.tc.GetToken(bearer(testCtx(t), ec.Sign(t, c)), &eeov1.GetTokenRequest{Account: "A"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestJWTCallerClaim(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	ec := testkit.ES256Signer(t, "ec-1")
	e := jwtEnv(t, now, func(c *access.JWTConfig) { c.CallerClaim = "client_id" }, ec)
	c := claims("someone", now.Now())
	c["client_id"] = "client-42"
	if _, err := e.tc.GetToken(bearer(testCtx(t), ec.Sign(t, c)), &eeov1.GetTokenRequest{Account: "A"}); err != nil {
		t.Fatal(err)
	}
	if got := e.tokens.last().Name; got != jwtID("client-42") {
		t.Fatalf("caller %q, want %s", got, jwtID("client-42"))
	}
	_, err := e.tc.GetToken(bearer(testCtx(t), ec.Sign(t, claims("someone", now.Now()))), &eeov1.GetTokenRequest{Account: "A"})
	st := testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonTokenInvalid)
	if !strings.Contains(st.Message(), `"client_id"`) {
		t.Fatalf("message %q", st.Message())
	}
}

func TestJWTInvalid(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	ec, rs := testkit.ES256Signer(t, "ec-1"), testkit.RS256Signer(t, "rsa-1")
	stranger := testkit.ES256Signer(t, "ec-1") // same kid, key not in the set
	unknownKid := testkit.ES256Signer(t, "ec-9")
	es384 := testkit.ES384Signer(t, "ec-384")
	e := jwtEnv(t, now, nil, ec, rs, es384) // ES384 not in Algorithms

	with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := claims("payroll-svc", now.Now())
		edit(c)
		return c
	}
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims("payroll-svc", now.Now())).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// Algorithm confusion: an HS256 token keyed with the RSA public key.
	rsaPub := rs.JWK()["n"].(string)
	hsTok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("payroll-svc", now.Now())).SignedString([]byte(rsaPub))
	if err != nil {
		t.Fatal(err)
	}
	valid := ec.Sign(t, claims("payroll-svc", now.Now()))
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]

	for name, tc := range map[string]struct {
		token string
		want  string
	}{
		"expired":          {ec.Sign(t, with(func(c jwt.MapClaims) { c["exp"] = now.Now().Add(-time.Second).Unix() })), "token expired"},
		"missing exp":      {ec.Sign(t, with(func(c jwt.MapClaims) { delete(c, "exp") })), `"exp"`},
		"wrong audience":   {ec.Sign(t, with(func(c jwt.MapClaims) { c["aud"] = "another-service" })), "wrong audience"},
		"missing audience": {ec.Sign(t, with(func(c jwt.MapClaims) { delete(c, "aud") })), `"aud"`},
		"wrong issuer":     {ec.Sign(t, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), "wrong issuer"},
		"not yet valid":    {ec.Sign(t, with(func(c jwt.MapClaims) { c["nbf"] = now.Now().Add(time.Hour).Unix() })), "not valid yet"},
		"no sub":           {ec.Sign(t, with(func(c jwt.MapClaims) { delete(c, "sub") })), `"sub"`},
		"alg none":         {noneTok, "signing algorithm not allowed"},
		"alg HS256":        {hsTok, "signing algorithm not allowed"},
		"alg not allowed":  {es384.Sign(t, claims("payroll-svc", now.Now())), "signing algorithm not allowed"},
		"unknown key":      {stranger.Sign(t, claims("payroll-svc", now.Now())), "bad signature"},
		"unknown kid":      {unknownKid.Sign(t, claims("payroll-svc", now.Now())), "unknown key"},
		"tampered":         {tampered, ""},
		"malformed":        {"eyJhbGciOi.x.y", "malformed"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.tc.GetToken(bearer(testCtx(t), tc.token), &eeov1.GetTokenRequest{Account: "A"})
			st := testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonTokenInvalid)
			if !strings.Contains(st.Message(), tc.want) {
				t.Errorf("message %q, want it to mention %q", st.Message(), tc.want)
			}
			for _, part := range strings.Split(tc.token, ".") {
				if len(part) > 8 && strings.Contains(st.Message(), part) {
					t.Errorf("message %q echoes the token", st.Message())
				}
			}
		})
	}
	if e.tokens.count() != 0 {
		t.Fatal("the handler ran for an invalid token")
	}
}

func TestJWKSFileRotation(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	oldKey, newKey, nextKey := testkit.ES256Signer(t, "2026-01"), testkit.EdDSASigner(t, "2026-03"), testkit.ES256Signer(t, "2026-05")
	path := filepath.Join(t.TempDir(), "jwks.json")
	write := func(data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(testkit.JWKS(oldKey))
	e := newEnv(t, access.Config{
		JWT: &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"ES256", "EdDSA"},
			JWKSFile: path, RefreshEvery: time.Hour},
		Now:      now.Now,
		Policies: []access.Policy{allPolicy(jwtID("payroll-svc"))},
	})
	call := func(s testkit.Signer) error {
		_, err := e.tc.GetToken(bearer(testCtx(t), s.Sign(t, claims("payroll-svc", now.Now()))), &eeov1.GetTokenRequest{Account: "A"})
		return err
	}
	if err := call(oldKey); err != nil {
		t.Fatal(err)
	}
	// An unknown kid re-reads the file at once; it has no such key yet.
	testkit.WantStatus(t, call(newKey), codes.Unauthenticated, access.ReasonTokenInvalid)

	// The issuer rotates. Unknown-kid re-reads are spaced 30s apart, so
	// right after the last one the new key is not seen yet…
	write(testkit.JWKS(newKey))
	testkit.WantStatus(t, call(newKey), codes.Unauthenticated, access.ReasonTokenInvalid)
	// …and 30s later it is, long before the hourly scheduled check.
	now.Advance(30 * time.Second)
	if err := call(newKey); err != nil {
		t.Fatalf("rotated key refused: %v", err)
	}
	testkit.WantStatus(t, call(oldKey), codes.Unauthenticated, access.ReasonTokenInvalid)

	// A key dropped from the file (revoked) goes at the scheduled check,
	// even though its kid is still known until then.
	write(testkit.JWKS(nextKey))
	if err := call(newKey); err != nil {
		t.Fatalf("known key refused before the scheduled check: %v", err)
	}
	now.Advance(time.Hour)
	testkit.WantStatus(t, call(newKey), codes.Unauthenticated, access.ReasonTokenInvalid)
	if err := call(nextKey); err != nil {
		t.Fatal(err)
	}

	// A broken file keeps the last good keys.
	write([]byte(`{"keys": [`))
	now.Advance(2 * time.Hour)
	if err := call(nextKey); err != nil {
		t.Fatalf("broken file dropped the keys: %v", err)
	}
}

// jwksServer is an HTTPS JWKS endpoint whose content tests swap.
type jwksServer struct {
	*httptest.Server
	body    atomic.Pointer[[]byte]
	failing atomic.Bool
	fetches atomic.Int64
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{}
	s.body.Store(&body)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		if s.failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(*s.body.Load())
	}))
	// Handshakes from clients that do not trust the test CA are expected.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func TestJWKSURL(t *testing.T) {
	oldKey, newKey := testkit.RS256Signer(t, "k1"), testkit.ES256Signer(t, "k2")
	srv := newJWKSServer(t, testkit.JWKS(oldKey))
	e := newEnv(t, access.Config{
		JWT: &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256", "ES256"},
			JWKSURL: srv.URL + "/jwks.json", HTTPClient: srv.Client(), RefreshEvery: 10 * time.Millisecond},
		Policies: []access.Policy{allPolicy(jwtID("payroll-svc"))},
	})
	call := func(s testkit.Signer) error {
		_, err := e.tc.GetToken(bearer(testCtx(t), s.Sign(t, claims("payroll-svc", time.Now()))), &eeov1.GetTokenRequest{Account: "A"})
		return err
	}
	if err := call(oldKey); err != nil {
		t.Fatal(err)
	}
	body := testkit.JWKS(newKey)
	srv.body.Store(&body)
	eventually(t, func() bool { return call(newKey) == nil })

	// The endpoint fails: the last good set stays.
	srv.failing.Store(true)
	seen := srv.fetches.Load()
	eventually(t, func() bool { return srv.fetches.Load() >= seen+3 })
	if err := call(newKey); err != nil {
		t.Fatalf("failed refresh dropped the keys: %v", err)
	}
}

func TestJWKSURLUnreachableAtNew(t *testing.T) {
	srv := newJWKSServer(t, nil)
	srv.failing.Store(true)
	_, err := access.New(access.Config{JWT: &access.JWTConfig{Issuer: testIssuer, Audience: testAudience,
		Algorithms: []string{"ES256"}, JWKSURL: srv.URL, HTTPClient: srv.Client()}})
	if err == nil || !strings.Contains(err.Error(), "JWT.JWKSURL") {
		t.Fatalf("got %v, want a JWT.JWKSURL error", err)
	}
	// Without an HTTPClient the Guard's own client does not trust the test
	// CA: still a clean error, and no goroutine left behind.
	_, err = access.New(access.Config{JWT: &access.JWTConfig{Issuer: testIssuer, Audience: testAudience,
		Algorithms: []string{"ES256"}, JWKSURL: srv.URL}})
	if err == nil {
		t.Fatal("want an error for an untrusted JWKS endpoint")
	}
}

// eventually polls cond for up to 30s: a hang guard, generous because a
// loaded CI machine can take seconds over the TLS fetches it waits for.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewValidation(t *testing.T) {
	_, k := apiKey(t, "payroll")
	dir := t.TempDir()
	jwksFile := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksFile, testkit.JWKS(testkit.ES256Signer(t, "k")), 0o600); err != nil {
		t.Fatal(err)
	}
	goodJWT := func(edit func(*access.JWTConfig)) *access.JWTConfig {
		c := &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"ES256"}, JWKSFile: jwksFile}
		edit(c)
		return c
	}
	upper := strings.ToUpper(k.SHA256)
	for name, tc := range map[string]struct {
		cfg  access.Config
		want string // substring of the error; "" means New succeeds
	}{
		"policy for a JWT subject": {access.Config{JWT: goodJWT(func(*access.JWTConfig) {}), Policies: []access.Policy{allPolicy(jwtID("jwt-only-caller"))}}, ""},
		// A name without its kind could be an API key caller, a JWT
		// subject or a certificate: the three must never share rights.
		"bare caller":                  {access.Config{APIKeys: []access.APIKey{k}, Policies: []access.Policy{allPolicy("payroll")}}, `Policies[0].Caller: "payroll" does not say which kind`},
		"API key nobody holds":         {access.Config{APIKeys: []access.APIKey{k}, Policies: []access.Policy{allPolicy(keyID("billing"))}}, `no API key is configured for caller "billing"`},
		"JWT without JWT":              {access.Config{APIKeys: []access.APIKey{k}, Policies: []access.Policy{allPolicy(jwtID("payroll"))}}, "JWT authentication is not configured"},
		"JWT of another issuer":        {access.Config{JWT: goodJWT(func(*access.JWTConfig) {}), Policies: []access.Policy{allPolicy("jwt:https://other.example#payroll")}}, "is not the configured JWT issuer"},
		"certificate without mTLS":     {access.Config{APIKeys: []access.APIKey{k}, Policies: []access.Policy{allPolicy("x509:cn:payroll")}}, "client certificates are not accepted"},
		"issuer with #":                {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.Issuer = "https://idp.example.org/#x" })}, "JWT.Issuer: must not contain '#'"},
		"API key caller with colon":    {access.Config{APIKeys: []access.APIKey{{Caller: "jwt:x", SHA256: k.SHA256}}}, "APIKeys[0].Caller"},
		"upper-case hash":              {access.Config{APIKeys: []access.APIKey{{Caller: "x", SHA256: upper}}}, ""},
		"nothing to authenticate with": {access.Config{}, "no way for a caller to authenticate"},
		"unknown permission": {access.Config{APIKeys: []access.APIKey{k}, Policies: []access.Policy{{Caller: keyID("payroll"),
			Permissions: []access.Permission{access.PermTokenGet, "token:steal"}}}}, "Policies[0].Permissions[1]"},
		"duplicate policy":         {access.Config{APIKeys: []access.APIKey{k}, Policies: []access.Policy{allPolicy(keyID("payroll")), allPolicy(keyID("payroll"))}}, "Policies[1].Caller"},
		"empty account":            {access.Config{APIKeys: []access.APIKey{k}, Policies: []access.Policy{{Caller: keyID("payroll"), Accounts: []string{""}}}}, "Policies[0].Accounts[0]"},
		"duplicate key":            {access.Config{APIKeys: []access.APIKey{k, {Caller: "other", SHA256: k.SHA256}}}, "APIKeys[1].SHA256"},
		"duplicate key mixed case": {access.Config{APIKeys: []access.APIKey{k, {Caller: "other", SHA256: upper}}}, "APIKeys[1].SHA256"},
		"bad hex":                  {access.Config{APIKeys: []access.APIKey{{Caller: "x", SHA256: "not-hex-at-all"}}}, "APIKeys[0].SHA256"},
		"short hash":               {access.Config{APIKeys: []access.APIKey{{Caller: "x", SHA256: "abcd"}}}, "APIKeys[0].SHA256"},
		"key without caller":       {access.Config{APIKeys: []access.APIKey{{SHA256: k.SHA256}}}, "APIKeys[0].Caller"},
		"HS256":                    {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.Algorithms = []string{"ES256", "HS256"} })}, "JWT.Algorithms[1]"},
		"none":                     {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.Algorithms = []string{"none"} })}, "JWT.Algorithms[0]"},
		"unknown alg":              {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.Algorithms = []string{"ES257"} })}, "JWT.Algorithms[0]"},
		"no alg":                   {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.Algorithms = nil })}, "JWT.Algorithms"},
		"no keys source":           {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.JWKSFile = "" })}, "JWT.JWKSFile or JWT.JWKSURL"},
		"both keys sources":        {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.JWKSURL = "https://idp.example.org/jwks" })}, "JWT.JWKSFile, JWT.JWKSURL"},
		"http JWKS URL":            {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.JWKSFile, c.JWKSURL = "", "http://idp.example.org/jwks" })}, "must be https"},
		"ftp JWKS URL":             {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.JWKSFile, c.JWKSURL = "", "ftp://127.0.0.1/jwks" })}, "must be https"},
		"missing JWKS file":        {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.JWKSFile = filepath.Join(dir, "nope.json") })}, "JWT.JWKSFile"},
		"no issuer":                {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.Issuer = "" })}, "JWT.Issuer"},
		"no audience":              {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.Audience = "" })}, "JWT.Audience"},
		"negative leeway":          {access.Config{JWT: goodJWT(func(c *access.JWTConfig) { c.Leeway = -time.Second })}, "JWT.Leeway"},
		"negative rate":            {access.Config{APIKeys: []access.APIKey{k}, RateLimit: access.RateLimit{PerSecond: -1}}, "RateLimit.PerSecond"},
		"negative burst":           {access.Config{APIKeys: []access.APIKey{k}, RateLimit: access.RateLimit{PerSecond: 1, Burst: -1}}, "RateLimit.Burst"},
		"bad reflection":           {access.Config{APIKeys: []access.APIKey{k}, Reflection: access.Reflection(7)}, "Reflection"},
	} {
		t.Run(name, func(t *testing.T) {
			g, err := access.New(tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				g.Close()
				return
			}
			if err == nil {
				g.Close()
				t.Fatalf("New succeeded, want an error mentioning %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "not-hex-at-all") {
				t.Fatalf("error %q echoes the configured value", err)
			}
		})
	}
}

// TestJWKSURLPlainHTTPOnLoopback: an identity provider on this host may
// serve its keys over plain http.
func TestJWKSURLPlainHTTPOnLoopback(t *testing.T) {
	ec := testkit.ES256Signer(t, "k1")
	body := testkit.JWKS(ec)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))
	defer srv.Close()
	e := newEnv(t, access.Config{
		JWT:      &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"ES256"}, JWKSURL: srv.URL},
		Policies: []access.Policy{allPolicy(jwtID("payroll-svc"))},
	})
	if _, err := e.tc.GetToken(bearer(testCtx(t), ec.Sign(t, claims("payroll-svc", time.Now()))), &eeov1.GetTokenRequest{Account: "A"}); err != nil {
		t.Fatal(err)
	}
}

// AllowUnauthenticated ignores every credential and policy, so New refuses
// it together with any: rules are never ignored silently.
func TestAllowUnauthenticatedWithRulesRefused(t *testing.T) {
	_, k := apiKey(t, "payroll")
	for name, cfg := range map[string]access.Config{
		"API keys": {AllowUnauthenticated: true, APIKeys: []access.APIKey{k}},
		"mTLS":     {AllowUnauthenticated: true, MTLS: true},
		"policies": {AllowUnauthenticated: true, Policies: []access.Policy{allPolicy("x509:cn:a")}},
	} {
		g, err := access.New(cfg)
		if err == nil {
			g.Close()
			t.Errorf("%s: New accepted AllowUnauthenticated with rules", name)
		} else if !strings.Contains(err.Error(), "AllowUnauthenticated") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The config file refuses a jwks_url with user:password@ (secrets come from
// env or files there), but access.Config is public API: a URL built with
// one still has its password masked in the log lines.
func TestJWKSURLPasswordNeverLogged(t *testing.T) {
	key := testkit.ES256Signer(t, "k1")
	srv := newJWKSServer(t, testkit.JWKS(key))
	log, buf, _ := auditLog(t)
	withUser := strings.Replace(srv.URL, "https://", "https://idp-user:jwks-s3cret@", 1) + "/jwks.json"
	newEnv(t, access.Config{
		JWT: &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"ES256"},
			JWKSURL: withUser, HTTPClient: srv.Client(), RefreshEvery: 10 * time.Millisecond},
		Policies: []access.Policy{allPolicy(jwtID("payroll-svc"))},
		Audit:    log,
	})
	srv.failing.Store(true)
	eventually(t, func() bool { return strings.Contains(buf.String(), "JWKS refresh failed") })
	out := buf.String()
	if strings.Contains(out, "jwks-s3cret") {
		t.Fatalf("the JWKS password reached the log:\n%s", out)
	}
	if !strings.Contains(out, "idp-user:xxxxx@") {
		t.Fatalf("the log does not name the (redacted) JWKS URL:\n%s", out)
	}
}
