package access_test

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
)

// TestSameNameOtherKindGetsNoRights is the identity-collision attack: the
// policy grants the API-key caller "bob" everything, and a JWT with
// sub "bob" or a client certificate with CN "bob" (or DNS SAN "bob") must
// get none of it.
func TestSameNameOtherKindGetsNoRights(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	ec := testkit.ES256Signer(t, "k1")
	path := testkit.JWKSFile(t, ec)
	key, k := apiKey(t, "bob")
	g, err := access.New(access.Config{
		APIKeys:  []access.APIKey{k},
		JWT:      &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"ES256"}, JWKSFile: path},
		MTLS:     true,
		Policies: []access.Policy{allPolicy(keyID("bob"))},
		Now:      now.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	ca := testkit.NewCA("test CA")
	serverCreds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{ca.Server("gateway").TLS()},
		ClientCAs:    testkit.Pool(ca),
		ClientAuth:   tls.VerifyClientCertIfGiven,
	})
	plain := startEnv(t, g, serverCreds, credentials.NewTLS(&tls.Config{RootCAs: testkit.Pool(ca)}))
	ctx := testCtx(t)

	// The real bob.
	if _, err := plain.tc.GetToken(bearer(ctx, key), &eeov1.GetTokenRequest{Account: "A"}); err != nil {
		t.Fatalf("API key bob: %v", err)
	}

	// A JWT whose sub is "bob".
	_, err = plain.tc.GetToken(bearer(ctx, ec.Sign(t, claims("bob", now.Now()))), &eeov1.GetTokenRequest{Account: "A"})
	wantDenied(t, err, jwtID("bob"), access.PermTokenGet, "A")

	// Client certificates named "bob" by CN and by DNS SAN.
	for name, c := range map[string]struct {
		cert tls.Certificate
		id   string
	}{
		"CN":      {ca.Client("bob").TLS(), "x509:cn:bob"},
		"DNS SAN": {ca.Client("bob", testkit.DNS("bob")).TLS(), "x509:dns:bob"},
	} {
		e := startEnv(t, g, serverCreds, credentials.NewTLS(&tls.Config{RootCAs: testkit.Pool(ca), Certificates: []tls.Certificate{c.cert}}))
		_, err := e.tc.GetToken(ctx, &eeov1.GetTokenRequest{Account: "A"})
		if code := codeOf(err); code != codes.PermissionDenied {
			t.Fatalf("certificate %s bob: %v, want PermissionDenied", name, err)
		}
		wantDenied(t, err, c.id, access.PermTokenGet, "A")
	}
	if n := plain.tokens.count(); n != 1 {
		t.Fatalf("handler ran %d times, want once (for the API key)", n)
	}
}
