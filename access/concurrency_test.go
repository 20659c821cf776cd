package access_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestConcurrentCallers runs API-key, JWT and unauthenticated callers side
// by side through authentication, the rate limiter and the audit log, for
// the race detector.
func TestConcurrentCallers(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	log, _, events := auditLog(t)
	key, k := apiKey(t, "payroll")
	ec := testkit.ES256Signer(t, "k1")
	path := testkit.JWKSFile(t, ec)
	e := newEnv(t, access.Config{
		APIKeys: []access.APIKey{k},
		JWT: &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"ES256"},
			JWKSFile: path, RefreshEvery: time.Millisecond},
		Policies:  []access.Policy{allPolicy(keyID("payroll")), allPolicy(jwtID("payroll-svc"))},
		RateLimit: access.RateLimit{PerSecond: 1, Burst: 30, MaxCallers: 4},
		Audit:     log,
		// Every failure in full; their aggregation is TestUnauthenticatedFloodIsSummarized's.
		Unauthenticated: access.Unauthenticated{AuditBurst: 1000},
		Now:             now.Now,
	})
	jwtTok := ec.Sign(t, claims("payroll-svc", now.Now()))

	const workers, calls = 9, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]map[codes.Code]int{"api_key": {}, "jwt": {}, "none": {}}
	for w := range workers {
		kind, ctx := "none", context.Context(testCtx(t))
		switch w % 3 {
		case 0:
			kind, ctx = "api_key", bearer(ctx, key)
		case 1:
			kind, ctx = "jwt", bearer(ctx, jwtTok)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				_, err := e.tc.GetToken(ctx, &eeov1.GetTokenRequest{Account: "A"})
				mu.Lock()
				seen[kind][status.Code(err)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	perKind := workers / 3 * calls
	for _, kind := range []string{"api_key", "jwt"} {
		// Each caller's burst of 30 passes; the rest is refused.
		if got := seen[kind]; got[codes.OK] != 30 || got[codes.ResourceExhausted] != perKind-30 {
			t.Errorf("%s outcomes %v", kind, got)
		}
	}
	if got := seen["none"][codes.Unauthenticated]; got != perKind {
		t.Errorf("unauthenticated outcomes %v", seen["none"])
	}
	if n := len(events()); n != 3*perKind {
		t.Errorf("%d audit events, want %d", n, 3*perKind)
	}
}
