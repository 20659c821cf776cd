package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/access/identity"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/permission"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// The negative security suite, end to end: the sandbox, the token
// cache, the EEO clients and the server with the access Guard wired as in
// production, driven over gRPC and REST. The TLS cases (client
// certificates, forged forwarding headers, plaintext) are in
// security_tls_test.go, secret rotation in security_rotation_test.go.
//
// Case 14 of the issue, "production start without caller authentication
// refuses to start", is TestProductionRefusesToStartWithoutCallerAuth in
// cmd/eeo-gateway/main_test.go; it needs the binary's flag and config
// handling, not a stack, so it is not repeated here.

// TestSecurityEveryRouteNeedsCredentials walks every RPC of both services
// and every REST route of the facade (generated GET/POST/DELETE routes, the
// upload POST and the :download GET): without credentials each is
// UNAUTHENTICATED / 401 CALLER_UNAUTHENTICATED, with an unknown API key
// UNAUTHENTICATED / 401 CALLER_TOKEN_INVALID, and with a valid key none is
// refused by the Guard, so the walk is not vacuous. Each refusal is
// audited exactly once. Health (gRPC Check and Watch, REST /healthz) stays
// open. Found and pinned: /openapi.json is public (the API's shape, no
// data); gRPC reflection needs credentials (the default,
// ReflectionAuthenticated).
func TestSecurityEveryRouteNeedsCredentials(t *testing.T) {
	// Each refusal in full: the walk refuses far more than the default
	// one-per-minute per address before the rest are summarized
	// (TestSecurityUnauthenticatedFloodIsOneLine covers that).
	cfg := &access.Config{Unauthenticated: access.Unauthenticated{AuditBurst: 1000}}
	admin := grant(cfg, "admin", []string{access.AllAccounts}, permission.All()...)
	s := newStack(t, stackOptions{Access: cfg})
	methods := eeoMethods(t)
	routes := restRoutes(t, account)

	// The walk covers the documented API: every OpenAPI operation is a
	// walked route, the hand-written upload route included.
	code, _, body := s.rest(t, http.MethodGet, "/openapi.json")
	if code != http.StatusOK {
		t.Fatalf("GET /openapi.json without credentials: HTTP %d; want it public (the API's shape only)", code)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("/openapi.json: %v", err)
	}
	camel := regexp.MustCompile(`\{([a-z]+)([A-Z][a-z]+)\}`)
	walked := map[string]bool{}
	for _, r := range routes {
		walked[r.method+" "+r.template] = true
	}
	ops := 0
	for path, byMethod := range doc.Paths {
		path = camel.ReplaceAllStringFunc(path, func(v string) string {
			m := camel.FindStringSubmatch(v)
			return "{" + m[1] + "_" + strings.ToLower(m[2]) + "}"
		})
		for method := range byMethod {
			ops++
			if op := strings.ToUpper(method) + " " + path; !walked[op] {
				t.Errorf("OpenAPI operation %s is not in the walk", op)
			}
		}
	}
	if ops == 0 {
		t.Fatal("/openapi.json lists no operations")
	}

	anonymous := s
	wrongKey := "e2e-wrong-api-key-" + strings.Repeat("x", 8)
	registerCredential("API key", wrongKey)
	wrong := s.as(t, view{Bearer: wrongKey})
	authorized := s.as(t, view{Bearer: admin})

	for _, c := range []struct {
		name   string
		client *stack
		reason string
	}{
		{"no credentials", anonymous, access.ReasonUnauthenticated},
		{"unknown API key", wrong, access.ReasonTokenInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(s.matchingAudits(t, map[string]string{"outcome": "Unauthenticated", "reason": c.reason}))
			for _, m := range methods {
				err := callRPC(t.Context(), t, c.client.conn, m, account)
				if _, err := grpcRefusal(err, codes.Unauthenticated, c.reason); err != nil {
					t.Errorf("gRPC %s: %v", fullMethod(m), err)
				}
			}
			for _, r := range routes {
				code, _, body := callREST(t, c.client, r)
				reason, _, err := restRefusal(body)
				if code != http.StatusUnauthorized || err != nil || reason != c.reason {
					t.Errorf("REST %s %s: HTTP %d reason %q (%v), want 401 %s", r.method, r.path, code, reason, err, c.reason)
				}
			}
			// Every refusal is audited, once: the REST ones included.
			after := len(s.matchingAudits(t, map[string]string{"outcome": "Unauthenticated", "reason": c.reason}))
			if got, want := after-before, len(methods)+len(routes); got != want {
				t.Errorf("%d refused-authentication audit events, want one per call (%d)", got, want)
			}
		})
	}

	// Nothing the refused calls did reached EEO.
	if st := s.sb.Stats(); st.TokenRequests+st.APIRequests != 0 {
		t.Errorf("refused calls reached EEO: %d token requests, %d API requests", st.TokenRequests, st.APIRequests)
	}

	t.Run("valid API key passes authentication everywhere", func(t *testing.T) {
		for _, m := range methods {
			err := callRPC(t.Context(), t, authorized.conn, m, account)
			if isGuardRefusal(err) {
				t.Errorf("gRPC %s with a valid key: %v", fullMethod(m), err)
			}
		}
		for _, r := range routes {
			code, _, body := callREST(t, authorized, r)
			if code == http.StatusUnauthorized || code == http.StatusForbidden {
				t.Errorf("REST %s %s with a valid key: HTTP %d %s", r.method, r.path, code, body)
			}
		}
	})

	t.Run("health stays open", func(t *testing.T) {
		health := healthpb.NewHealthClient(anonymous.conn)
		got, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || got.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Health/Check without credentials: %v, %v; want SERVING", got.GetStatus(), err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		watch, err := health.Watch(ctx, &healthpb.HealthCheckRequest{Service: eeov1.TokenService_ServiceDesc.ServiceName})
		if err != nil {
			t.Fatalf("Health/Watch: %v", err)
		}
		if got, err := watch.Recv(); err != nil || got.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Health/Watch without credentials: %v, %v; want SERVING", got.GetStatus(), err)
		}
		cancel()
		if code, _, body := anonymous.rest(t, http.MethodGet, "/healthz"); code != http.StatusOK {
			t.Errorf("GET /healthz without credentials: HTTP %d %s", code, body)
		}
	})

	t.Run("reflection needs credentials", func(t *testing.T) {
		for _, c := range []struct {
			client *stack
			want   codes.Code
		}{{anonymous, codes.Unauthenticated}, {authorized, codes.OK}} {
			stream, err := reflectionpb.NewServerReflectionClient(c.client.conn).ServerReflectionInfo(t.Context())
			if err == nil {
				err = stream.Send(&reflectionpb.ServerReflectionRequest{
					MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
				if errors.Is(err, io.EOF) {
					// The server ended the stream before the request went
					// out (it refuses before reading); Recv has its status.
					err = nil
				}
			}
			if err == nil {
				_, err = stream.Recv()
				stream.CloseSend()
			}
			if got := status.Code(err); got != c.want {
				t.Errorf("reflection: %v (code %v), want %v", err, got, c.want)
			}
		}
	})
	// The valid-key walk did reach EEO.
	if st := s.sb.Stats(); st.TokenRequests == 0 || st.APIRequests == 0 {
		t.Errorf("the valid-key walk made %d token and %d API requests: it did not reach the handlers", st.TokenRequests, st.APIRequests)
	}
}

// isGuardRefusal reports whether err refuses the caller: UNAUTHENTICATED
// or PERMISSION_DENIED.
func isGuardRefusal(err error) bool {
	c := status.Code(err)
	return c == codes.Unauthenticated || c == codes.PermissionDenied
}

// TestSecurityJWT proves bearer JWTs end to end: a token from the
// configured issuer for the gateway's audience works over gRPC and REST,
// while an expired one, an unsigned one (alg "none"), one minted for
// another audience, one signed by a key outside the JWKS, one issued in
// the future and one minted to live 30 days (over the 24h cap) are each
// UNAUTHENTICATED / 401 CALLER_TOKEN_INVALID, with a fixed explanation
// that does not repeat the token.
func TestSecurityJWT(t *testing.T) {
	const audience = "eeo-gateway"
	iss := newIssuer(t)
	cfg := &access.Config{
		JWT: &access.JWTConfig{Issuer: iss.name, Audience: audience, Algorithms: []string{"ES256"}, JWKSFile: iss.jwksFile},
		Policies: []access.Policy{{Caller: identity.FromJWT(iss.name, "svc-payroll"), Accounts: []string{account},
			Permissions: []access.Permission{access.PermTokenGet}}},
		// The second GetToken is a cache hit, audited only when asked.
		AuditTokenCacheHits: true,
	}
	s := newStack(t, stackOptions{Access: cfg})
	now := time.Now()

	expired := iss.claims("svc-payroll", audience, now)
	expired["iat"], expired["nbf"], expired["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	stranger := newIssuer(t) // same kid, key not in the gateway's JWKS
	future := iss.claims("svc-payroll", audience, now)
	future["iat"] = now.Add(10 * time.Minute).Unix()
	longLived := iss.claims("svc-payroll", audience, now)
	longLived["exp"] = now.Add(30 * 24 * time.Hour).Unix()

	for _, c := range []struct {
		name, token, why string
	}{
		{"expired", signJWT(t, iss.signer, expired), "token expired"},
		{"alg none", signJWT(t, testkit.Signer{KID: iss.signer.KID, Method: jwt.SigningMethodNone, Key: jwt.UnsafeAllowNoneSignatureType}, iss.claims("svc-payroll", audience, now)), "signing algorithm not allowed"},
		{"wrong audience", signJWT(t, iss.signer, iss.claims("svc-payroll", "another-service", now)), "wrong audience"},
		{"unknown signing key", signJWT(t, stranger.signer, iss.claims("svc-payroll", audience, now)), "bad signature"},
		{"issued in the future", signJWT(t, iss.signer, future), "token issued in the future"},
		{"lifetime over 24h", signJWT(t, iss.signer, longLived), "token lifetime exceeds"},
	} {
		t.Run(c.name, func(t *testing.T) {
			caller := s.as(t, view{Bearer: c.token})
			_, err := caller.getToken(t.Context())
			if _, e := grpcRefusal(err, codes.Unauthenticated, access.ReasonTokenInvalid); e != nil {
				t.Errorf("gRPC GetToken: %v", e)
			} else if !strings.Contains(err.Error(), c.why) {
				t.Errorf("gRPC GetToken: %v; want the explanation %q", err, c.why)
			}
			code, _, body := caller.rest(t, http.MethodGet, "/v1/accounts/"+account+"/token")
			if reason, _, err := restRefusal(body); code != http.StatusUnauthorized || err != nil || reason != access.ReasonTokenInvalid {
				t.Errorf("REST GetToken: HTTP %d reason %q (%v), want 401 %s", code, reason, err, access.ReasonTokenInvalid)
			}
		})
	}
	if n := s.tokenRequests(); n != 0 {
		t.Errorf("refused JWTs caused %d token requests to EEO", n)
	}

	t.Run("valid", func(t *testing.T) {
		caller := s.as(t, view{Bearer: signJWT(t, iss.signer, iss.claims("svc-payroll", audience, now))})
		tok := caller.mustToken(t)
		code, _, body := caller.rest(t, http.MethodGet, "/v1/accounts/"+account+"/token")
		var viaREST eeov1.GetTokenResponse
		decodeREST(t, "REST GetToken with a valid JWT", code, body, &viaREST)
		if viaREST.GetToken().GetFingerprint() != tok.GetFingerprint() {
			t.Error("REST and gRPC returned different tokens")
		}
		if n := len(s.matchingAudits(t, map[string]string{"caller": identity.FromJWT(iss.name, "svc-payroll"), "via": access.ViaJWT, "account": account,
			"method": eeov1.TokenService_GetToken_FullMethodName, "outcome": "OK"})); n != 2 {
			t.Errorf("%d audit events for the JWT caller's GetToken calls, want 2 (gRPC and REST)", n)
		}
	})
}

// TestSecurityAuthorization proves default-deny authorization and
// object-level isolation between two accounts (demo and other, two EEO
// clients at one sandbox):
//   - a caller allowed only reports:* cannot GetToken (PERMISSION_DENIED /
//     403), and the refusal is audited;
//   - a caller allowed on one account cannot get the other's token;
//   - an import created on other cannot be read, listed, watched or
//     cancelled through demo's paths, even by a caller allowed on both: it
//     is NOT_FOUND IMPORT_NOT_FOUND, as EEO keeps each client's objects
//     apart;
//   - a successful CreateImport is audited with caller, account, method
//     and outcome.
func TestSecurityAuthorization(t *testing.T) {
	cfg := &access.Config{}
	reportsOnly := grant(cfg, "reports-only", []string{access.AllAccounts}, access.PermReportsRead, access.PermReportsWrite)
	demoApp := grant(cfg, "demo-app", []string{account}, access.PermTokenGet, access.PermImportsRead, access.PermImportsWrite)
	otherApp := grant(cfg, "other-app", []string{otherAccount}, access.PermTokenGet, access.PermImportsRead, access.PermImportsWrite)
	both := grant(cfg, "both-reader", []string{account, otherAccount}, access.PermImportsRead, access.PermImportsWrite)
	s := newStack(t, stackOptions{Access: cfg, SecondAccount: true})
	reports, demo, other, bothApp := s.as(t, view{Bearer: reportsOnly}), s.as(t, view{Bearer: demoApp}), s.as(t, view{Bearer: otherApp}), s.as(t, view{Bearer: both})

	t.Run("reports-only caller cannot get a token", func(t *testing.T) {
		_, err := reports.getToken(t.Context())
		md, e := grpcRefusal(err, codes.PermissionDenied, access.ReasonPermissionDenied)
		if e != nil {
			t.Fatalf("gRPC GetToken: %v", e)
		}
		if md["caller"] != identity.FromAPIKey("reports-only") || md["permission"] != string(access.PermTokenGet) || md["account"] != account {
			t.Errorf("ErrorInfo metadata %v, want caller reports-only, permission token:get, account demo", md)
		}
		code, _, body := reports.rest(t, http.MethodGet, "/v1/accounts/"+account+"/token")
		if reason, _, err := restRefusal(body); code != http.StatusForbidden || err != nil || reason != access.ReasonPermissionDenied {
			t.Errorf("REST GetToken: HTTP %d reason %q (%v), want 403 %s", code, reason, err, access.ReasonPermissionDenied)
		}
		// What it is allowed works: the refusal is about the permission.
		if _, err := reports.files.ListReports(t.Context(), &eeov1.ListReportsRequest{Account: account}); err != nil {
			t.Errorf("reports-only ListReports: %v", err)
		}
		// The denied GetToken is audited, as a warning, once per attempt.
		want := map[string]string{"caller": identity.FromAPIKey("reports-only"), "via": access.ViaAPIKey, "account": account,
			"method": eeov1.TokenService_GetToken_FullMethodName, "outcome": "PermissionDenied",
			"reason": access.ReasonPermissionDenied, "level": "WARN"}
		if n := len(s.matchingAudits(t, want)); n != 2 {
			t.Errorf("%d audit events for the denied GetToken (gRPC + REST), want 2; audit events: %v", n, s.audits(t))
		}
	})

	t.Run("caller of one account cannot get the other's token", func(t *testing.T) {
		for _, c := range []struct {
			name        string
			caller      *stack
			own, others string
		}{{"demo-app", demo, account, otherAccount}, {"other-app", other, otherAccount, account}} {
			if _, err := c.caller.tokens.GetToken(t.Context(), &eeov1.GetTokenRequest{Account: c.own}); err != nil {
				t.Errorf("%s GetToken(%s): %v", c.name, c.own, err)
			}
			_, err := c.caller.tokens.GetToken(t.Context(), &eeov1.GetTokenRequest{Account: c.others})
			if md, e := grpcRefusal(err, codes.PermissionDenied, access.ReasonPermissionDenied); e != nil {
				t.Errorf("%s GetToken(%s): %v", c.name, c.others, e)
			} else if md["account"] != c.others {
				t.Errorf("%s GetToken(%s): ErrorInfo metadata %v names the wrong account", c.name, c.others, md)
			}
			code, _, body := c.caller.rest(t, http.MethodGet, "/v1/accounts/"+c.others+"/token")
			if reason, _, err := restRefusal(body); code != http.StatusForbidden || err != nil || reason != access.ReasonPermissionDenied {
				t.Errorf("%s REST GetToken(%s): HTTP %d reason %q (%v), want 403", c.name, c.others, code, reason, err)
			}
		}
	})

	t.Run("another account's import is not found through this account", func(t *testing.T) {
		theirs, err := other.upload(t.Context(), &eeov1.ImportMetadata{Account: otherAccount, ImportType: "participants",
			FileName: "other.csv", RequestId: "other-import"}, mixedParticipants, 64)
		if err != nil {
			t.Fatalf("other-app CreateImport on other: %v", err)
		}
		id := theirs.GetImportId()
		s.wantAudit(t, "successful CreateImport", map[string]string{"caller": identity.FromAPIKey("other-app"), "via": access.ViaAPIKey,
			"account": otherAccount, "method": eeov1.ImportReportService_CreateImport_FullMethodName,
			"outcome": "OK", "idempotency_key": "other-import", "level": "INFO"})
		// demo's own import, over REST, for the listing below.
		code, _, body := demo.restUpload(t, url.Values{"importType": {"participants"}, "fileName": {"demo.csv"}, "requestId": {"demo-import"}}, mixedParticipants)
		var created eeov1.CreateImportResponse
		decodeREST(t, "demo-app REST CreateImport on demo", code, body, &created)
		mine := created.GetDataImport()
		s.wantAudit(t, "successful REST CreateImport", map[string]string{"caller": identity.FromAPIKey("demo-app"), "via": access.ViaAPIKey,
			"account": account, "method": eeov1.ImportReportService_CreateImport_FullMethodName,
			"outcome": "OK", "idempotency_key": "demo-import", "level": "INFO"})

		// Streams name their account in the first message, which the Guard
		// authorizes before the handler sees anything: demo-app can neither
		// upload into other nor watch other's import.
		importsBefore := s.sb.Stats().ImportsCreated
		_, err = demo.upload(t.Context(), &eeov1.ImportMetadata{Account: otherAccount, ImportType: "participants", FileName: "sneak.csv"}, mixedParticipants, 64)
		if _, e := grpcRefusal(err, codes.PermissionDenied, access.ReasonPermissionDenied); e != nil {
			t.Errorf("demo-app CreateImport into other: %v", e)
		}
		if n := s.sb.Stats().ImportsCreated; n != importsBefore {
			t.Errorf("a refused CreateImport into other created %d imports at EEO", n-importsBefore)
		}
		s.wantAudit(t, "refused CreateImport", map[string]string{"caller": identity.FromAPIKey("demo-app"), "account": otherAccount,
			"method": eeov1.ImportReportService_CreateImport_FullMethodName, "outcome": "PermissionDenied"})
		watch, err := demo.files.WatchImport(t.Context(), &eeov1.WatchImportRequest{Account: otherAccount, ImportId: id})
		if err == nil {
			_, err = watch.Recv()
		}
		if _, e := grpcRefusal(err, codes.PermissionDenied, access.ReasonPermissionDenied); e != nil {
			t.Errorf("demo-app WatchImport(other, %s): %v", id, e)
		}

		for _, c := range []struct {
			name   string
			caller *stack
		}{{"demo-app", demo}, {"both-reader", bothApp}} {
			_, err := c.caller.files.GetImport(t.Context(), &eeov1.GetImportRequest{Account: account, ImportId: id})
			if _, e := grpcRefusal(err, codes.NotFound, server.ReasonImportNotFound); e != nil {
				t.Errorf("%s gRPC GetImport(demo, other's id): %v", c.name, e)
			}
			_, err = c.caller.files.ListImportErrors(t.Context(), &eeov1.ListImportErrorsRequest{Account: account, ImportId: id})
			if _, e := grpcRefusal(err, codes.NotFound, server.ReasonImportNotFound); e != nil {
				t.Errorf("%s gRPC ListImportErrors(demo, other's id): %v", c.name, e)
			}
			watch, err := c.caller.files.WatchImport(t.Context(), &eeov1.WatchImportRequest{Account: account, ImportId: id})
			if err == nil {
				_, err = watch.Recv()
			}
			if _, e := grpcRefusal(err, codes.NotFound, server.ReasonImportNotFound); e != nil {
				t.Errorf("%s gRPC WatchImport(demo, other's id): %v", c.name, e)
			}
			_, err = c.caller.files.CancelImport(t.Context(), &eeov1.CancelImportRequest{Account: account, ImportId: id})
			if _, e := grpcRefusal(err, codes.NotFound, server.ReasonImportNotFound); e != nil {
				t.Errorf("%s gRPC CancelImport(demo, other's id): %v", c.name, e)
			}
			code, _, body := c.caller.rest(t, http.MethodGet, importsPath+"/"+id)
			if reason, _, err := restRefusal(body); code != http.StatusNotFound || err != nil || reason != server.ReasonImportNotFound {
				t.Errorf("%s REST GET %s/<other's id>: HTTP %d reason %q (%v), want 404 %s", c.name, importsPath, code, reason, err, server.ReasonImportNotFound)
			}
			code, _, body = c.caller.restJSON(t, http.MethodPost, importsPath+"/"+id+":cancel", "{}")
			if reason, _, err := restRefusal(body); code != http.StatusNotFound || err != nil || reason != server.ReasonImportNotFound {
				t.Errorf("%s REST cancel demo/<other's id>: HTTP %d reason %q (%v), want 404", c.name, code, reason, err)
			}
			list, err := c.caller.files.ListImports(t.Context(), &eeov1.ListImportsRequest{Account: account})
			if err != nil {
				t.Fatalf("%s ListImports(demo): %v", c.name, err)
			}
			var ids []string
			for _, imp := range list.GetImports() {
				ids = append(ids, imp.GetImportId())
			}
			if slices.Contains(ids, id) || !slices.Contains(ids, mine.GetImportId()) {
				t.Errorf("%s ListImports(demo) = %v: want demo's %s and not other's %s", c.name, ids, mine.GetImportId(), id)
			}
		}
		// demo-app may not even ask on other's path.
		code, _, body = demo.rest(t, http.MethodGet, "/v1/accounts/"+otherAccount+"/imports/"+id)
		if reason, _, err := restRefusal(body); code != http.StatusForbidden || err != nil || reason != access.ReasonPermissionDenied {
			t.Errorf("demo-app REST GET other's import on other's path: HTTP %d reason %q (%v), want 403", code, reason, err)
		}
		// The id is real, and the cancel attempts through demo's path did
		// nothing to it.
		resp, err := bothApp.files.GetImport(t.Context(), &eeov1.GetImportRequest{Account: otherAccount, ImportId: id})
		if err != nil {
			t.Fatalf("both-reader GetImport(other, %s): %v", id, err)
		}
		if st := resp.GetDataImport().GetState(); st == eeov1.ImportState_IMPORT_STATE_CANCELLED {
			t.Errorf("other's import is %v after cancel attempts through demo's path", st)
		}
	})
}

// TestSecurityRateLimit proves the per-caller rate limit over both
// protocols on an injected clock: past its burst a caller gets
// RESOURCE_EXHAUSTED CALLER_RATE_LIMITED with a RetryInfo over gRPC, and
// HTTP 429 with Retry-After over REST (they share one bucket); another
// caller is unaffected; advancing the clock by the advertised delay lets
// the caller in again. No sleeps.
func TestSecurityRateLimit(t *testing.T) {
	clock := testkit.NewClock()
	cfg := &access.Config{RateLimit: access.RateLimit{PerSecond: 1, Burst: 2}, Now: clock.Now}
	noisy := grant(cfg, "noisy", []string{account}, access.PermTokenGet, access.PermImportsRead)
	quiet := grant(cfg, "quiet", []string{account}, access.PermTokenGet)
	s := newStack(t, stackOptions{Access: cfg})
	n, q := s.as(t, view{Bearer: noisy}), s.as(t, view{Bearer: quiet})
	tokenPath := "/v1/accounts/" + account + "/token"

	wantLimitedGRPC := func(what string) {
		t.Helper()
		_, err := n.getToken(t.Context())
		md, e := grpcRefusal(err, codes.ResourceExhausted, access.ReasonRateLimited)
		if e != nil {
			t.Fatalf("%s: %v", what, e)
		}
		if md["caller"] != identity.FromAPIKey("noisy") {
			t.Errorf("%s: ErrorInfo metadata %v, want caller noisy", what, md)
		}
		if ri := testkit.RetryInfo(err); ri == nil || ri.GetRetryDelay().AsDuration() != time.Second {
			t.Errorf("%s: RetryInfo %v, want a 1s delay", what, ri)
		}
	}
	wantLimitedREST := func(what string) {
		t.Helper()
		code, hdr, body := n.rest(t, http.MethodGet, tokenPath)
		if reason, _, err := restRefusal(body); code != http.StatusTooManyRequests || err != nil || reason != access.ReasonRateLimited {
			t.Fatalf("%s: HTTP %d reason %q (%v), want 429 %s", what, code, reason, err, access.ReasonRateLimited)
		}
		if ra := hdr.Get("Retry-After"); ra != "1" {
			t.Errorf("%s: Retry-After %q, want \"1\"", what, ra)
		}
	}

	// The burst: one call over each protocol.
	n.mustToken(t)
	if code, _, body := n.rest(t, http.MethodGet, tokenPath); code != http.StatusOK {
		t.Fatalf("REST GetToken within the burst: HTTP %d %s", code, body)
	}
	wantLimitedGRPC("gRPC past the burst")
	wantLimitedREST("REST past the burst")
	// Refused calls do not push the next allowed one further out, and
	// another caller has a bucket of its own.
	q.mustToken(t)

	clock.Advance(time.Second)
	// One token refilled, and spent.
	n.mustToken(t)
	wantLimitedREST("REST after one refill")
	clock.Advance(time.Second)
	if code, _, body := n.rest(t, http.MethodGet, tokenPath); code != http.StatusOK {
		t.Fatalf("REST GetToken after the advertised delay: HTTP %d %s", code, body)
	}
	wantLimitedGRPC("gRPC after the REST call spent the refill")
	// A streaming REST route is limited too. Its error takes grpc-gateway's
	// stream error path ({"error": status}), which does not turn the
	// RetryInfo into Retry-After (reported; see server/gateway.go), so only
	// the status and reason are checked here.
	code, _, body := n.rest(t, http.MethodGet, importsPath+"/"+unknownImportID+":watch")
	if reason, _, err := restRefusal(body); code != http.StatusTooManyRequests || err != nil || reason != access.ReasonRateLimited {
		t.Errorf("REST WatchImport past the limit: HTTP %d reason %q (%v), want 429 %s", code, reason, err, access.ReasonRateLimited)
	}

	// Rate-limited GetToken calls are audited (GetToken is an audited method).
	if n := len(s.matchingAudits(t, map[string]string{"caller": identity.FromAPIKey("noisy"), "outcome": "ResourceExhausted",
		"reason": access.ReasonRateLimited, "method": eeov1.TokenService_GetToken_FullMethodName})); n != 4 {
		t.Errorf("%d audit events for rate-limited GetToken calls, want 4", n)
	}
}
