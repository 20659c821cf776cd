package e2e_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/access/identity"
	"google.golang.org/grpc/codes"
)

// TestSecurityIdentitiesDoNotCollide is the identity-collision attack end to
// end: the policy grants the API-key caller "svc-payroll" tokens, and a
// valid JWT whose sub is "svc-payroll" gets none of it over gRPC or REST —
// it is jwt:<issuer>#svc-payroll, a different identity.
func TestSecurityIdentitiesDoNotCollide(t *testing.T) {
	const audience = "eeo-gateway"
	iss := newIssuer(t)
	cfg := &access.Config{
		JWT: &access.JWTConfig{Issuer: iss.name, Audience: audience, Algorithms: []string{"ES256"}, JWKSFile: iss.jwksFile},
	}
	key := grant(cfg, "svc-payroll", []string{account}, access.PermTokenGet)
	s := newStack(t, stackOptions{Access: cfg})

	s.as(t, view{Bearer: key}).mustToken(t)

	impostor := s.as(t, view{Bearer: signJWT(t, iss.signer, iss.claims("svc-payroll", audience, time.Now()))})
	want := identity.FromJWT(iss.name, "svc-payroll")
	_, err := impostor.getToken(t.Context())
	if md, e := grpcRefusal(err, codes.PermissionDenied, access.ReasonPermissionDenied); e != nil {
		t.Errorf("gRPC GetToken with a JWT for sub svc-payroll: %v", e)
	} else if md["caller"] != want {
		t.Errorf("gRPC: refused as %q, want %q", md["caller"], want)
	}
	code, _, body := impostor.rest(t, http.MethodGet, "/v1/accounts/"+account+"/token")
	if reason, md, err := restRefusal(body); code != http.StatusForbidden || err != nil || reason != access.ReasonPermissionDenied || md["caller"] != want {
		t.Errorf("REST GetToken with a JWT for sub svc-payroll: HTTP %d reason %q caller %q (%v), want 403 %s as %s", code, reason, md["caller"], err, access.ReasonPermissionDenied, want)
	}
}
