package access_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
)

// TestJWTIssuedAtAndLifetime: a token issued in the future (beyond 60 s of
// skew) or minted to live longer than MaxLifetime is refused, so a token
// minted with a far exp (or a clock far ahead) cannot be used for longer
// than the cap.
func TestJWTIssuedAtAndLifetime(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	ec := testkit.ES256Signer(t, "ec-1")
	def := jwtEnv(t, now, nil, ec)
	short := jwtEnv(t, now, func(c *access.JWTConfig) { c.MaxLifetime = time.Hour }, ec)
	at := func(iat, exp time.Duration) jwt.MapClaims {
		c := claims("payroll-svc", now.Now())
		c["iat"], c["exp"] = now.Now().Add(iat).Unix(), now.Now().Add(exp).Unix()
		return c
	}
	noIat := func(exp time.Duration) jwt.MapClaims {
		c := at(0, exp)
		delete(c, "iat")
		return c
	}
	for _, tc := range []struct {
		name   string
		e      *env
		claims jwt.MapClaims
		want   string // "" = accepted
	}{
		{"iat now", def, at(0, time.Hour), ""},
		{"iat 30s ahead (skew)", def, at(30*time.Second, time.Hour), ""},
		{"iat 2m ahead", def, at(2*time.Minute, time.Hour), "token issued in the future"},
		{"lifetime 24h", def, at(-time.Hour, 23*time.Hour), ""},
		{"lifetime 25h", def, at(-time.Hour, 24*time.Hour), "token lifetime exceeds the 24h0m0s allowed"},
		{"no iat, exp in 23h", def, noIat(23 * time.Hour), ""},
		{"no iat, exp in 25h", def, noIat(25 * time.Hour), "token lifetime exceeds"},
		{"configured 1h, lifetime 2h", short, at(0, 2*time.Hour), "token lifetime exceeds the 1h0m0s allowed"},
		{"configured 1h, lifetime 1h", short, at(0, time.Hour), ""},
		{"malformed iat", def, func() jwt.MapClaims { c := at(0, time.Hour); c["iat"] = "yesterday"; return c }(), `malformed "iat"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.e.tc.GetToken(bearer(testCtx(t), ec.Sign(t, tc.claims)), &eeov1.GetTokenRequest{Account: "A"})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			st := testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonTokenInvalid)
			if !strings.Contains(st.Message(), tc.want) {
				t.Fatalf("message %q, want %q", st.Message(), tc.want)
			}
		})
	}
}

// TestJWKSUnknownKidRefresh: a key rotation is picked up by the first token
// that names the new kid, with one fetch however many callers present it at
// once; tokens with made-up kids cause at most one fetch per 30 s and fail
// at once in between.
func TestJWKSUnknownKidRefresh(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	oldKey, newKey := testkit.ES256Signer(t, "2026-01"), testkit.ES256Signer(t, "2026-03")
	srv := newJWKSServer(t, testkit.JWKS(oldKey))
	e := newEnv(t, access.Config{
		JWT: &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"ES256"},
			JWKSURL: srv.URL + "/jwks.json", HTTPClient: srv.Client(), RefreshEvery: time.Hour},
		Now:      now.Now,
		Policies: []access.Policy{allPolicy(jwtID("payroll-svc"))},
	})
	call := func(s testkit.Signer) error {
		_, err := e.tc.GetToken(bearer(testCtx(t), s.Sign(t, claims("payroll-svc", now.Now()))), &eeov1.GetTokenRequest{Account: "A"})
		return err
	}
	if got := srv.fetches.Load(); got != 1 {
		t.Fatalf("%d fetches at start, want 1", got)
	}
	body := testkit.JWKS(oldKey, newKey)
	srv.body.Store(&body)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() { errs <- call(newKey) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("token with the rotated-in kid: %v", err)
		}
	}
	if got := srv.fetches.Load(); got != 2 {
		t.Fatalf("%d fetches after the rotation, want 2 (one refresh for 16 callers)", got)
	}

	// Made-up kids: refused, and no fetch until 30 s have passed.
	for i := range 20 {
		testkit.WantStatus(t, call(testkit.ES256Signer(t, "made-up-"+string(rune('a'+i)))), codes.Unauthenticated, access.ReasonTokenInvalid)
	}
	if got := srv.fetches.Load(); got != 2 {
		t.Fatalf("%d fetches after 20 unknown kids, want still 2", got)
	}
	now.Advance(30 * time.Second)
	for range 5 {
		testkit.WantStatus(t, call(testkit.ES256Signer(t, "made-up")), codes.Unauthenticated, access.ReasonTokenInvalid)
	}
	if got := srv.fetches.Load(); got != 3 {
		t.Fatalf("%d fetches 30s later, want 3", got)
	}
	if err := call(oldKey); err != nil {
		t.Fatalf("known key after refreshes: %v", err)
	}
}

// TestJWKSRedirects: the key set is fetched only from the configured
// scheme and host; a redirect elsewhere (another host, or https to http)
// fails the fetch, while one on the same host is followed.
func TestJWKSRedirects(t *testing.T) {
	ec := testkit.ES256Signer(t, "k1")
	elsewhere := newJWKSServer(t, testkit.JWKS(ec))
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(testkit.JWKS(ec)) }))
	t.Cleanup(plain.Close)
	var target string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same-host":
			http.Redirect(w, r, "/jwks.json", http.StatusFound)
		case "/jwks.json":
			w.Write(testkit.JWKS(ec))
		default:
			http.Redirect(w, r, target, http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	newGuard := func(path string) error {
		g, err := access.New(access.Config{JWT: &access.JWTConfig{Issuer: testIssuer, Audience: testAudience,
			Algorithms: []string{"ES256"}, JWKSURL: srv.URL + path, HTTPClient: srv.Client()}})
		if err == nil {
			g.Close()
		}
		return err
	}
	if err := newGuard("/same-host"); err != nil {
		t.Fatalf("redirect on the same host: %v", err)
	}
	for name, to := range map[string]string{
		"another host":  elsewhere.URL + "/jwks.json",
		"https to http": plain.URL + "/jwks.json",
	} {
		target = to
		err := newGuard("/elsewhere")
		if err == nil || !strings.Contains(err.Error(), "refusing a redirect") {
			t.Errorf("redirect to %s: %v, want a refusal", name, err)
		}
	}
	if n := elsewhere.fetches.Load(); n != 0 {
		t.Errorf("the other host was fetched %d times", n)
	}
}
