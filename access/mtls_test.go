package access_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	eeov1gw "github.com/eeo-gateway/eeo-gateway/gen/gateway/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

const spiffePayroll = "spiffe://example.org/payroll"

func TestMTLS(t *testing.T) {
	ca := testkit.NewCA("test CA")
	g, err := access.New(access.Config{
		MTLS: true,
		Policies: []access.Policy{
			{Caller: spiffePayroll, Accounts: []string{"A"}, Permissions: []access.Permission{access.PermTokenGet}},
			{Caller: "x509:dns:billing.internal", Accounts: []string{"B"}, Permissions: []access.Permission{access.PermTokenGet}},
			{Caller: "x509:cn:legacy-batch", Accounts: []string{"*"}, Permissions: []access.Permission{access.PermTokenGet}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	serverCreds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{ca.Server("gateway").TLS()},
		ClientCAs:    testkit.Pool(ca),
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	})

	for _, tc := range []struct {
		name                string
		uri, dns, cn        string
		wantCaller, account string
	}{
		{"URI SAN wins", spiffePayroll, "payroll.internal", "payroll", spiffePayroll, "A"},
		{"DNS SAN next", "", "Billing.Internal", "billing", "x509:dns:billing.internal", "B"},
		{"CN last", "", "", "legacy-batch", "x509:cn:legacy-batch", "Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clientCreds := credentials.NewTLS(&tls.Config{
				RootCAs:      testkit.Pool(ca),
				Certificates: []tls.Certificate{ca.Client(tc.cn, testkit.URI(tc.uri), testkit.DNS(tc.dns)).TLS()},
			})
			e := startEnv(t, g, serverCreds, clientCreds)
			ctx := testCtx(t)
			if _, err := e.tc.GetToken(ctx, &eeov1.GetTokenRequest{Account: tc.account}); err != nil {
				t.Fatal(err)
			}
			if got := e.tokens.last(); got != (access.Caller{Name: tc.wantCaller, Via: access.ViaMTLS}) {
				t.Fatalf("caller %+v, want %s via mtls", got, tc.wantCaller)
			}
			// Identity is still subject to policy.
			_, err := e.tc.GetToken(ctx, &eeov1.GetTokenRequest{Account: "not-" + tc.account})
			if tc.account != "Z" {
				testkit.WantStatus(t, err, codes.PermissionDenied, access.ReasonPermissionDenied)
			}
		})
	}
}

// TestMTLSOffIgnoresCertificate: with MTLS off a verified certificate is
// not an identity.
func TestMTLSOffIgnoresCertificate(t *testing.T) {
	ca := testkit.NewCA("test CA")
	_, k := apiKey(t, "someone")
	g, err := access.New(access.Config{APIKeys: []access.APIKey{k}, Policies: []access.Policy{allPolicy(keyID("someone"))}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	e := startEnv(t, g,
		credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{ca.Server("gateway").TLS()}, ClientCAs: testkit.Pool(ca), ClientAuth: tls.RequireAndVerifyClientCert}),
		credentials.NewTLS(&tls.Config{RootCAs: testkit.Pool(ca), Certificates: []tls.Certificate{ca.Client("", testkit.URI(spiffePayroll)).TLS()}}))
	_, err = e.tc.GetToken(testCtx(t), &eeov1.GetTokenRequest{Account: "A"})
	testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonUnauthenticated)
}

// verifiedRequest is an HTTP request as a TLS server that verified cert
// would hand it over.
func verifiedRequest(t *testing.T, ca *testkit.Cert, cert tls.Certificate) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://gateway/v1/accounts/A/token", nil)
	r.TLS = &tls.ConnectionState{
		PeerCertificates: []*x509.Certificate{cert.Leaf},
		VerifiedChains:   [][]*x509.Certificate{{cert.Leaf, ca.Cert}},
	}
	return r
}

func TestForwardedIdentity(t *testing.T) {
	ca := testkit.NewCA("test CA")
	e := newEnv(t, access.Config{MTLS: true, Policies: []access.Policy{allPolicy(spiffePayroll)}})
	ctx := testCtx(t)
	call := func(md metadata.MD) error {
		_, err := e.tc.GetToken(metadata.NewOutgoingContext(ctx, md), &eeov1.GetTokenRequest{Account: "A"})
		return err
	}

	forwarded := e.guard.ForwardCertificate(ctx, verifiedRequest(t, ca, ca.Client("", testkit.URI(spiffePayroll)).TLS()))
	if len(forwarded) == 0 {
		t.Fatal("no metadata for a verified certificate")
	}
	if err := call(forwarded); err != nil {
		t.Fatalf("forwarded identity refused: %v", err)
	}
	if got := e.tokens.last(); got != (access.Caller{Name: spiffePayroll, Via: access.ViaMTLS}) {
		t.Fatalf("caller %+v", got)
	}

	// Forgeries are ignored.
	otherGuard, err := access.New(access.Config{MTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer otherGuard.Close()
	anotherProcess := otherGuard.ForwardCertificate(ctx, verifiedRequest(t, ca, ca.Client("", testkit.URI(spiffePayroll)).TLS()))
	proof := forwarded.Get(access.ForwardedProofKey)[0]
	for name, md := range map[string]metadata.MD{
		"identity only":            metadata.Pairs(access.ForwardedCallerKey, spiffePayroll),
		"made-up proof":            metadata.Pairs(access.ForwardedCallerKey, spiffePayroll, access.ForwardedProofKey, "00"),
		"another process's proof":  anotherProcess,
		"proof for another caller": metadata.Pairs(access.ForwardedCallerKey, "spiffe://example.org/admin", access.ForwardedProofKey, proof),
		"second identity smuggled": metadata.Join(forwarded, metadata.Pairs(access.ForwardedCallerKey, "spiffe://example.org/admin")),
	} {
		t.Run(name, func(t *testing.T) {
			testkit.WantStatus(t, call(md), codes.Unauthenticated, access.ReasonUnauthenticated)
		})
	}

	// Nothing to forward without a verified chain, or with MTLS off.
	plain := httptest.NewRequest(http.MethodGet, "http://gateway/", nil)
	if md := e.guard.ForwardCertificate(ctx, plain); len(md) != 0 {
		t.Fatalf("metadata %v for a plaintext request", md)
	}
	unverified := verifiedRequest(t, ca, ca.Client("", testkit.URI(spiffePayroll)).TLS())
	unverified.TLS.VerifiedChains = nil
	if md := e.guard.ForwardCertificate(ctx, unverified); len(md) != 0 {
		t.Fatalf("metadata %v for an unverified certificate", md)
	}
	_, k := apiKey(t, "x")
	noMTLS, err := access.New(access.Config{APIKeys: []access.APIKey{k}})
	if err != nil {
		t.Fatal(err)
	}
	defer noMTLS.Close()
	if md := noMTLS.ForwardCertificate(ctx, verifiedRequest(t, ca, ca.Client("", testkit.URI(spiffePayroll)).TLS())); len(md) != 0 {
		t.Fatalf("metadata %v with MTLS off", md)
	}
}

// TestForwardedThroughGateway runs the real path: an HTTPS grpc-gateway
// facade that verifies client certificates and dials the guarded gRPC
// server in plaintext, forwarding identities with ForwardCertificate.
func TestForwardedThroughGateway(t *testing.T) {
	ca := testkit.NewCA("test CA")
	e := newEnv(t, access.Config{MTLS: true, Policies: []access.Policy{
		{Caller: spiffePayroll, Accounts: []string{"A"}, Permissions: []access.Permission{access.PermTokenGet}},
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The legacy header matcher passes any Grpc-Metadata-* header on as
	// metadata: the worst case, so the Guard's own defence is what is tested.
	mux := runtime.NewServeMux(
		runtime.WithMetadata(e.guard.ForwardCertificate),
		runtime.WithIncomingHeaderMatcher(runtime.LegacyHeaderMatcher),
	)
	if err := eeov1gw.RegisterTokenServiceHandler(ctx, mux, dial(t, e.addr, insecure.NewCredentials())); err != nil {
		t.Fatal(err)
	}
	facade := httptest.NewUnstartedServer(mux)
	facade.TLS = &tls.Config{
		Certificates: []tls.Certificate{ca.Server("gateway").TLS()},
		ClientCAs:    testkit.Pool(ca),
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}
	facade.StartTLS()
	defer facade.Close()

	get := func(cert *tls.Certificate, path string, header http.Header) (int, map[string]any) {
		t.Helper()
		cfg := &tls.Config{RootCAs: testkit.Pool(ca)}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, facade.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(body, &out)
		return resp.StatusCode, out
	}

	payroll := ca.Client("", testkit.URI(spiffePayroll)).TLS()
	if code, body := get(&payroll, "/v1/accounts/A/token", nil); code != http.StatusOK {
		t.Fatalf("with a client certificate: HTTP %d %v", code, body)
	}
	if got := e.tokens.last(); got != (access.Caller{Name: spiffePayroll, Via: access.ViaMTLS}) {
		t.Fatalf("caller %+v", got)
	}
	if code, _ := get(&payroll, "/v1/accounts/B/token", nil); code != http.StatusForbidden {
		t.Fatalf("other account: HTTP %d, want 403", code)
	}
	if code, _ := get(nil, "/v1/accounts/A/token", nil); code != http.StatusUnauthorized {
		t.Fatalf("no certificate: HTTP %d, want 401", code)
	}

	// A client forging the forwarded identity through grpc-gateway's
	// Grpc-Metadata-* passthrough gets nowhere, certificate or not.
	forged := http.Header{
		"Grpc-Metadata-" + access.ForwardedCallerKey: {base64.StdEncoding.EncodeToString([]byte(spiffePayroll))},
		"Grpc-Metadata-" + access.ForwardedProofKey:  {"0123456789abcdef"},
	}
	if code, _ := get(nil, "/v1/accounts/A/token", forged); code != http.StatusUnauthorized {
		t.Fatalf("forged identity: HTTP %d, want 401", code)
	}
	// Beside a real certificate, the caller is who the certificate says.
	other := ca.Client("", testkit.URI("spiffe://example.org/intruder")).TLS()
	code, body := get(&other, "/v1/accounts/A/token", forged)
	if code != http.StatusForbidden {
		t.Fatalf("forged identity beside a real certificate: HTTP %d, want 403: %v", code, body)
	}
	if info := body["details"].([]any)[0].(map[string]any); info["metadata"].(map[string]any)["caller"] != "spiffe://example.org/intruder" {
		t.Fatalf("refused as %v, want the certificate's identity", info["metadata"])
	}
	if e.tokens.last().Name != spiffePayroll || e.tokens.count() != 1 {
		t.Fatalf("handler ran for a refused call: %d calls", e.tokens.count())
	}
}
