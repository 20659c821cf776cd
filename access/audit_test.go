package access_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

func TestAudit(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	log, buf, events := auditLog(t)
	key, k := apiKey(t, "payroll")
	ec := testkit.ES256Signer(t, "k1")
	path := testkit.JWKSFile(t, ec)
	e := newEnv(t, access.Config{
		APIKeys: []access.APIKey{k},
		JWT:     &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"ES256"}, JWKSFile: path},
		Policies: []access.Policy{
			{Caller: keyID("payroll"), Accounts: []string{"A"}, Permissions: []access.Permission{
				access.PermTokenGet, access.PermImportsWrite, access.PermImportsRead, access.PermReportsRead, access.PermReportsWrite}},
			allPolicy(jwtID("svc-jwt")),
		},
		Audit: log,
		// Every failure in full; their aggregation is TestUnauthenticatedFloodIsSummarized's.
		Unauthenticated: access.Unauthenticated{AuditBurst: 1000},
		Now:             now.Now,
	})
	ctx := testCtx(t)
	jwtTok := ec.Sign(t, claims("svc-jwt", now.Now()))
	expired := ec.Sign(t, claims("svc-jwt", now.Now().Add(-time.Hour)))

	withID := metadata.AppendToOutgoingContext(bearer(ctx, key), "x-request-id", "req-123")
	if _, err := e.tc.GetToken(withID, &eeov1.GetTokenRequest{Account: "A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tc.RefreshToken(bearer(ctx, jwtTok), &eeov1.RefreshTokenRequest{Account: "B"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.tc.GetToken(bearer(ctx, key), &eeov1.GetTokenRequest{Account: "B"})
	testkit.WantStatus(t, err, codes.PermissionDenied, access.ReasonPermissionDenied)
	_, err = e.tc.GetToken(bearer(ctx, key+"-wrong"), &eeov1.GetTokenRequest{Account: "A"})
	testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonTokenInvalid)
	_, err = e.tc.InvalidateToken(bearer(ctx, expired), &eeov1.InvalidateTokenRequest{Account: "A"})
	testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonTokenInvalid)
	_, err = e.tc.GetToken(ctx, &eeov1.GetTokenRequest{Account: "A"})
	testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonUnauthenticated)
	if _, err := upload(bearer(ctx, key), e.fc, "A", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fc.CreateReport(bearer(ctx, key), &eeov1.CreateReportRequest{Account: "A", ReportType: "grants", RequestId: "rep-req-9"}); err != nil {
		t.Fatal(err)
	}
	dl, err := e.fc.DownloadReport(bearer(ctx, key), &eeov1.DownloadReportRequest{Account: "A", ReportId: "r"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := dl.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// Reads are not audited when allowed…
	if _, err := e.fc.GetImport(bearer(ctx, key), &eeov1.GetImportRequest{Account: "A", ImportId: "i"}); err != nil {
		t.Fatal(err)
	}
	// …but refusals always are.
	_, err = e.fc.GetImport(bearer(ctx, key), &eeov1.GetImportRequest{Account: "B", ImportId: "i"})
	testkit.WantStatus(t, err, codes.PermissionDenied, access.ReasonPermissionDenied)

	type want struct{ caller, via, account, method, outcome, reason, requestID, idempotencyKey string }
	wants := []want{
		{keyID("payroll"), "api_key", "A", eeov1.TokenService_GetToken_FullMethodName, "OK", "", "req-123", ""},
		{jwtID("svc-jwt"), "jwt", "B", eeov1.TokenService_RefreshToken_FullMethodName, "OK", "", "", ""},
		{keyID("payroll"), "api_key", "B", eeov1.TokenService_GetToken_FullMethodName, "PermissionDenied", access.ReasonPermissionDenied, "", ""},
		// An unknown API key and a missing credential are refused by the
		// tap, when the headers arrive: the request, with its account, is
		// never read. An expired JWT takes the interceptor to find out.
		{"", "", "", eeov1.TokenService_GetToken_FullMethodName, "Unauthenticated", access.ReasonTokenInvalid, "", ""},
		{"", "", "A", eeov1.TokenService_InvalidateToken_FullMethodName, "Unauthenticated", access.ReasonTokenInvalid, "", ""},
		{"", "", "", eeov1.TokenService_GetToken_FullMethodName, "Unauthenticated", access.ReasonUnauthenticated, "", ""},
		{keyID("payroll"), "api_key", "A", eeov1.ImportReportService_CreateImport_FullMethodName, "OK", "", "", "upload-1"},
		{keyID("payroll"), "api_key", "A", eeov1.ImportReportService_CreateReport_FullMethodName, "OK", "", "", "rep-req-9"},
		{keyID("payroll"), "api_key", "A", eeov1.ImportReportService_DownloadReport_FullMethodName, "OK", "", "", ""},
		{keyID("payroll"), "api_key", "B", eeov1.ImportReportService_GetImport_FullMethodName, "PermissionDenied", access.ReasonPermissionDenied, "", ""},
	}
	got := events()
	if len(got) != len(wants) {
		t.Fatalf("%d audit events, want %d:\n%s", len(got), len(wants), buf)
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	for i, w := range wants {
		ev := got[i]
		g := want{str(ev, "caller"), str(ev, "via"), str(ev, "account"), str(ev, "method"), str(ev, "outcome"), str(ev, "reason"), str(ev, "request_id"), str(ev, "idempotency_key")}
		if g != w {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, g, w)
		}
		if a, _ := ev["client_addr"].(string); !strings.HasPrefix(a, "bufconn") && !strings.HasPrefix(a, "127.0.0.1:") {
			t.Errorf("event %d client_addr = %q, want the test connection's", i, a)
		}
		if _, ok := ev["duration"]; !ok {
			t.Errorf("event %d has no duration", i)
		}
	}

	// No credential ever reaches the log.
	all := buf.String()
	for name, secret := range map[string]string{
		"API key": key, "JWT": jwtTok, "expired JWT": expired,
		"JWT signature": jwtTok[strings.LastIndex(jwtTok, ".")+1:],
		"EEO token":     fakeAccessToken,
	} {
		if strings.Contains(all, secret) {
			t.Errorf("audit log contains the %s", name)
		}
	}
}

func TestAuditRateLimitedOnlyForAuditedMethods(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	log, _, events := auditLog(t)
	key, k := apiKey(t, "payroll")
	e := newEnv(t, access.Config{
		APIKeys: []access.APIKey{k}, Policies: []access.Policy{allPolicy(keyID("payroll"))},
		RateLimit: access.RateLimit{PerSecond: 1, Burst: 1}, Audit: log, Now: now.Now,
	})
	ctx := bearer(testCtx(t), key)
	if _, err := e.fc.GetImport(ctx, &eeov1.GetImportRequest{Account: "A", ImportId: "i"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := e.fc.GetImport(ctx, &eeov1.GetImportRequest{Account: "A", ImportId: "i"})
		testkit.WantStatus(t, err, codes.ResourceExhausted, access.ReasonRateLimited)
	}
	if n := len(events()); n != 0 {
		t.Fatalf("%d audit events for reads, want none", n)
	}
	_, err := e.tc.GetToken(ctx, &eeov1.GetTokenRequest{Account: "A"})
	testkit.WantStatus(t, err, codes.ResourceExhausted, access.ReasonRateLimited)
	got := events()
	if len(got) != 1 || got[0]["outcome"] != "ResourceExhausted" || got[0]["reason"] != access.ReasonRateLimited || got[0]["caller"] != keyID("payroll") {
		t.Fatalf("events %v", got)
	}
}

// A GetToken served from the token cache is routine: with the default
// configuration it is not audited, while one that reached EEO, one that
// failed and one that was refused are. AuditTokenCacheHits audits the hits
// too.
func TestTokenCacheHitsAreAuditedOnlyWhenConfigured(t *testing.T) {
	for _, tc := range []struct {
		name       string
		auditHits  bool
		cacheHits  bool
		wantEvents int // for one allowed GetToken, then one denied one
	}{
		{"hit, default", false, true, 1},
		{"fetched from EEO, default", false, false, 2},
		{"hit, AuditTokenCacheHits", true, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, buf, events := auditLog(t)
			key, k := apiKey(t, "payroll")
			e := newEnv(t, access.Config{
				APIKeys:             []access.APIKey{k},
				Policies:            []access.Policy{{Caller: keyID("payroll"), Accounts: []string{"A"}, Permissions: []access.Permission{access.PermTokenGet}}},
				Audit:               log,
				AuditTokenCacheHits: tc.auditHits,
			})
			e.tokens.cacheHits = tc.cacheHits
			ctx := bearer(testCtx(t), key)
			if _, err := e.tc.GetToken(ctx, &eeov1.GetTokenRequest{Account: "A"}); err != nil {
				t.Fatal(err)
			}
			_, err := e.tc.GetToken(ctx, &eeov1.GetTokenRequest{Account: "B"})
			testkit.WantStatus(t, err, codes.PermissionDenied, access.ReasonPermissionDenied)
			got := events()
			if len(got) != tc.wantEvents {
				t.Fatalf("%d audit events, want %d:\n%s", len(got), tc.wantEvents, buf)
			}
			if last := got[len(got)-1]; last["outcome"] != "PermissionDenied" || last["account"] != "B" {
				t.Errorf("last event %v, want the denial", last)
			}
			if tc.wantEvents == 2 && (got[0]["outcome"] != "OK" || got[0]["account"] != "A") {
				t.Errorf("first event %v, want the allowed GetToken", got[0])
			}
		})
	}
}
