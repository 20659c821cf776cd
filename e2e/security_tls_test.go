package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/permission"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// payrollID is the SPIFFE identity of the trusted client certificate.
const payrollID = "spiffe://example.org/payroll"

// TestSecurityClientCertificates proves mTLS end to end on a gateway that
// requires and verifies client certificates (RequireAndVerifyClientCert):
//   - a certificate from the trusted CA with URI SAN
//     spiffe://example.org/payroll authenticates over gRPC and over REST
//     (where the facade forwards it with Guard.ForwardCertificate), and is
//     audited as that caller, via mtls;
//   - a certificate claiming the same identity from an untrusted CA, and no
//     certificate at all, fail the TLS handshake on both ports: the Guard
//     never sees the connection, EEO is not asked for a token, and no audit
//     event is written;
//   - both TLS listeners refuse plaintext.
func TestSecurityClientCertificates(t *testing.T) {
	p := newPKI()
	// The REST GetToken is a cache hit, audited only when asked.
	cfg := &access.Config{MTLS: true, AuditTokenCacheHits: true, Policies: []access.Policy{{Caller: payrollID, Accounts: []string{account},
		Permissions: []access.Permission{access.PermTokenGet}}}}
	s := newStack(t, stackOptions{
		Access:    cfg,
		TLS:       p.serverTLS(tls.RequireAndVerifyClientCert),
		ClientTLS: p.clientTLS(clientCert(p.clientCA, payrollID)),
	})
	restAddr := strings.TrimPrefix(s.restURL, "https://")

	t.Run("trusted certificate", func(t *testing.T) {
		tok := s.mustToken(t)
		code, hdr, body := s.rest(t, http.MethodGet, "/v1/accounts/"+account+"/token")
		var viaREST eeov1.GetTokenResponse
		decodeREST(t, "REST GetToken with a trusted client certificate", code, body, &viaREST)
		if viaREST.GetToken().GetFingerprint() != tok.GetFingerprint() {
			t.Error("REST and gRPC returned different tokens")
		}
		// The forwarded identity and its proof are internal metadata.
		for k := range hdr {
			if strings.Contains(strings.ToLower(k), "forwarded") {
				t.Errorf("REST response header %s exposes the forwarded identity", k)
			}
		}
		if n := len(s.matchingAudits(t, map[string]string{"caller": payrollID, "via": access.ViaMTLS, "account": account,
			"method": eeov1.TokenService_GetToken_FullMethodName, "outcome": "OK"})); n != 2 {
			t.Errorf("%d audit events for %s's GetToken calls, want 2 (gRPC and REST)", n, payrollID)
		}
		s.wantTokenRequests(t, 1)
	})

	audits := len(s.audits(t))
	for _, c := range []struct {
		name  string
		cfg   *tls.Config
		alert string
	}{
		{"certificate from an untrusted CA", p.insistingClientTLS(clientCert(p.rogueCA, payrollID)), "tls: unknown certificate authority"},
		{"no certificate", p.clientTLS(), "tls: certificate required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for port, addr := range map[string]string{"gRPC": s.grpcAddr, "REST": restAddr} {
				if alert, err := handshakeAlert(addr, c.cfg); err != nil || alert != c.alert {
					t.Errorf("%s port: alert %q (%v), want %q", port, alert, err, c.alert)
				}
			}
			caller := s.as(t, view{TLS: c.cfg})
			_, err := caller.getToken(t.Context())
			if code := status.Code(err); code != codes.Unavailable {
				t.Errorf("gRPC GetToken: %v (code %v), want UNAVAILABLE from the failed handshake", err, code)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.restURL+"/v1/accounts/"+account+"/token", nil)
			if resp, err := caller.http.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("REST GetToken: HTTP %d, want the handshake to fail", resp.StatusCode)
			}
		})
	}
	if n := len(s.audits(t)); n != audits {
		t.Errorf("refused handshakes produced %d audit events: the Guard saw the connections", n-audits)
	}
	s.wantTokenRequests(t, 1)

	t.Run("plaintext", func(t *testing.T) { wantPlaintextRefused(t, s) })
}

// wantPlaintextRefused checks that both listeners of a TLS stack refuse
// plaintext: gRPC fails, and HTTP gets net/http's 400 for an HTTP request
// to an HTTPS server, from no route of the gateway.
func wantPlaintextRefused(t *testing.T, s *stack) {
	t.Helper()
	audits := len(s.audits(t))
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(recordErrors))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = eeov1.NewTokenServiceClient(conn).GetToken(ctx, &eeov1.GetTokenRequest{Account: account})
	if code := status.Code(err); code != codes.Unavailable {
		t.Errorf("plaintext gRPC to the TLS port: %v (code %v), want UNAVAILABLE", err, code)
	}

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	plain := &http.Client{Transport: recordingTransport{transport}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+strings.TrimPrefix(s.restURL, "https://")+"/v1/accounts/"+account+"/token", nil)
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatalf("plaintext HTTP to the TLS port: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
		t.Errorf("plaintext HTTP to the TLS port: HTTP %d %q, want net/http's 400 for HTTP to an HTTPS server", resp.StatusCode, body)
	}
	if n := len(s.audits(t)); n != audits {
		t.Errorf("plaintext requests produced %d audit events: they reached the Guard", n-audits)
	}
}

// TestSecurityForgedForwardingHeaders proves that a REST client cannot
// choose its identity through headers. The gateway verifies client
// certificates if given (VerifyClientCertIfGiven), so clients without one
// connect, and accepts API keys too. Forged headers are
// Grpc-Metadata-Authorization (with a valid admin key!), the Guard's
// forwarded-caller and proof keys as Grpc-Metadata-<key> and as bare
// headers, and an Envoy-style X-Forwarded-Client-Cert. With them:
//   - no real credential is still 401 CALLER_UNAUTHENTICATED;
//   - a reports-only API key is still that caller: GetToken is 403, not
//     granted;
//   - a trusted certificate for payroll is still payroll (403 for GetToken),
//     neither replaced by the forged caller nor made ambiguous by it.
//
// Over gRPC, where a client does set metadata, a forwarded caller without
// a valid proof is ignored: UNAUTHENTICATED. Without the forged headers,
// the admin key does grant GetToken, so the headers would matter if they
// passed.
func TestSecurityForgedForwardingHeaders(t *testing.T) {
	p := newPKI()
	cfg := &access.Config{MTLS: true}
	admin := grant(cfg, "admin", []string{access.AllAccounts}, permission.All()...)
	reportsOnly := grant(cfg, "reports-only", []string{access.AllAccounts}, access.PermReportsRead, access.PermReportsWrite)
	cfg.Policies = append(cfg.Policies, access.Policy{Caller: payrollID, Accounts: []string{access.AllAccounts},
		Permissions: []access.Permission{access.PermReportsRead}})
	s := newStack(t, stackOptions{
		Access:    cfg,
		TLS:       p.serverTLS(tls.VerifyClientCertIfGiven),
		ClientTLS: p.clientTLS(),
	})
	tokenPath := "/v1/accounts/" + account + "/token"

	forgedProof := make([]byte, 32)
	rand.Read(forgedProof)
	forged := http.Header{}
	forged.Set("Grpc-Metadata-Authorization", "Bearer "+admin)
	forged.Set("Grpc-Metadata-"+access.ForwardedCallerKey, base64.StdEncoding.EncodeToString([]byte("admin")))
	forged.Set("Grpc-Metadata-"+access.ForwardedProofKey, hex.EncodeToString(forgedProof))
	forged.Set(access.ForwardedCallerKey, base64.StdEncoding.EncodeToString([]byte("admin")))
	forged.Set(access.ForwardedProofKey, hex.EncodeToString(forgedProof))
	forged.Set("X-Forwarded-Client-Cert", "By=spiffe://example.org/gateway;URI=admin")

	for _, c := range []struct {
		name               string
		v                  view
		wantCode           int
		wantReason, caller string
	}{
		{"no credentials", view{Header: forged}, http.StatusUnauthorized, access.ReasonUnauthenticated, ""},
		{"reports-only API key", view{Header: forged, Bearer: reportsOnly}, http.StatusForbidden, access.ReasonPermissionDenied, "apikey:reports-only"},
		{"trusted payroll certificate", view{Header: forged, TLS: p.clientTLS(clientCert(p.clientCA, payrollID))}, http.StatusForbidden, access.ReasonPermissionDenied, payrollID},
	} {
		t.Run(c.name, func(t *testing.T) {
			caller := s.as(t, c.v)
			code, _, body := caller.rest(t, http.MethodGet, tokenPath)
			reason, md, err := restRefusal(body)
			if code != c.wantCode || err != nil || reason != c.wantReason {
				t.Fatalf("REST GetToken with forged headers: HTTP %d reason %q (%v), want %d %s", code, reason, err, c.wantCode, c.wantReason)
			}
			if c.caller != "" && md["caller"] != c.caller {
				t.Errorf("REST GetToken with forged headers: refused as caller %q, want %q", md["caller"], c.caller)
			}
			// The caller's own permissions still work with the headers on.
			if c.caller != "" {
				if code, _, body := caller.rest(t, http.MethodGet, "/v1/accounts/"+account+"/reports"); code != http.StatusOK {
					t.Errorf("REST ListReports as %s with forged headers: HTTP %d %s", c.caller, code, body)
				}
			}
		})
	}

	t.Run("gRPC forwarded caller without a valid proof", func(t *testing.T) {
		caller := s.as(t, view{MD: metadata.Pairs(
			access.ForwardedCallerKey, "admin", access.ForwardedProofKey, hex.EncodeToString(forgedProof))})
		_, err := caller.getToken(t.Context())
		if _, e := grpcRefusal(err, codes.Unauthenticated, access.ReasonUnauthenticated); e != nil {
			t.Errorf("gRPC GetToken with a forged forwarded caller: %v", e)
		}
	})

	t.Run("the forged key is a real one", func(t *testing.T) {
		if code, _, body := s.as(t, view{Bearer: admin}).rest(t, http.MethodGet, tokenPath); code != http.StatusOK {
			t.Fatalf("REST GetToken with the admin key: HTTP %d %s", code, body)
		}
	})
	// Only the admin's call reached EEO.
	s.wantTokenRequests(t, 1)

	t.Run("plaintext", func(t *testing.T) { wantPlaintextRefused(t, s) })
}
