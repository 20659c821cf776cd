package identity_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access/identity"
)

func cert(t *testing.T, uri, dns, cn string) *x509.Certificate {
	t.Helper()
	c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}}
	if uri != "" {
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		c.URIs = []*url.URL{u}
	}
	if dns != "" {
		c.DNSNames = []string{dns}
	}
	return c
}

// The same name proved three ways gives three identities, none of which
// parses as another kind.
func TestSameNameDifferentKindsNeverCollide(t *testing.T) {
	ids := []string{
		identity.FromAPIKey("bob"),
		identity.FromJWT("https://idp.example.org", "bob"),
		identity.FromCertificate(cert(t, "", "", "bob")),
		identity.FromCertificate(cert(t, "", "bob", "")),
		identity.FromCertificate(cert(t, "urn:bob", "", "")),
		identity.FromCertificate(cert(t, "spiffe://example.org/bob", "", "")),
	}
	kinds := map[identity.Kind]bool{}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("%q produced twice", id)
		}
		seen[id] = true
		p, err := identity.Parse(id)
		if err != nil {
			t.Fatalf("Parse(%q): %v", id, err)
		}
		if p.String() != id {
			t.Errorf("Parse(%q).String() = %q", id, p.String())
		}
		if kinds[p.Kind] {
			t.Errorf("%q: kind %v seen twice", id, p.Kind)
		}
		kinds[p.Kind] = true
	}
	if len(kinds) != 6 {
		t.Fatalf("%d kinds, want 6", len(kinds))
	}
}

// A JWT subject can hold anything, including what looks like another
// issuer: the configured issuer never contains '#', so the identity still
// parses back to the right issuer and subject.
func TestJWTSubjectCannotForgeIssuer(t *testing.T) {
	id := identity.FromJWT("https://idp.example.org", "x#https://evil#bob")
	p, err := identity.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != identity.JWT || p.Issuer != "https://idp.example.org" || p.Name != "x#https://evil#bob" {
		t.Fatalf("parsed %+v", p)
	}
}

func TestFromCertificate(t *testing.T) {
	for _, tc := range []struct {
		uri, dns, cn, want string
	}{
		{"spiffe://example.org/ns/hr/sa/bot", "bot.internal", "bot", "spiffe://example.org/ns/hr/sa/bot"},
		{"https://svc.example.org/payroll", "", "", "x509:uri:https://svc.example.org/payroll"},
		{"", "Payroll.Internal", "payroll", "x509:dns:payroll.internal"},
		{"", "", "legacy batch", "x509:cn:legacy batch"},
		{"", "", "", ""},
	} {
		if got := identity.FromCertificate(cert(t, tc.uri, tc.dns, tc.cn)); got != tc.want {
			t.Errorf("uri %q dns %q cn %q: %q, want %q", tc.uri, tc.dns, tc.cn, got, tc.want)
		}
	}
	if got := identity.FromCertificate(nil); got != "" {
		t.Errorf("nil certificate: %q", got)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		"apikey:payroll-sync":              "apikey:payroll-sync",
		"jwt:https://idp.example.org/#svc": "jwt:https://idp.example.org/#svc",
		"SPIFFE://example.org/a":           "spiffe://example.org/a",
		"x509:dns:Billing.Internal":        "x509:dns:billing.internal",
		"x509:cn:Legacy":                   "x509:cn:Legacy",
		"x509:uri:urn:example:payroll":     "x509:uri:urn:example:payroll",
	} {
		id, err := identity.Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if id.String() != want {
			t.Errorf("Parse(%q).String() = %q, want %q", in, id.String(), want)
		}
	}
	for in, want := range map[string]string{
		"":                   "empty identity",
		"bob":                `"bob" does not say which kind of identity it is; write apikey:bob`,
		"apikey:":            "must be followed by an API key caller name",
		"apikey:a:b":         "use only letters",
		"jwt:https://idp":    "jwt:<issuer>#<subject>",
		"jwt:#bob":           "jwt:<issuer>#<subject>",
		"spiffe://":          "not a SPIFFE ID",
		"x509:dns:":          "must be followed by a DNS name",
		"x509:cn:":           "must be followed by a common name",
		"x509:uri:not a uri": "absolute URI",
		"x509:bob":           "does not say which kind",
		"apikey:" + strings.Repeat("a", identity.MaxNameBytes+1): "longer than",
	} {
		if _, err := identity.Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q): %v, want an error mentioning %q", in, err, want)
		}
	}
}

func TestCheckPolicyCaller(t *testing.T) {
	on := identity.Enabled{APIKeyCallers: []string{"bob"}, JWTIssuer: "https://idp.example.org"}
	if got, err := identity.CheckPolicyCaller("apikey:bob", on); err != nil || got != "apikey:bob" {
		t.Errorf("apikey:bob: %q, %v", got, err)
	}
	if _, err := identity.CheckPolicyCaller("jwt:https://idp.example.org#bob", on); err != nil {
		t.Errorf("JWT: %v", err)
	}
	for in, want := range map[string]string{
		"bob":                         "does not say which kind",
		"apikey:alice":                "no API key is configured",
		"jwt:https://other.example#b": "not the configured JWT issuer",
		"x509:dns:bob.internal":       "client certificates are not accepted",
		"spiffe://example.org/bob":    "client certificates are not accepted",
	} {
		if _, err := identity.CheckPolicyCaller(in, on); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	on.Certificates = true
	if got, err := identity.CheckPolicyCaller("x509:dns:Bob.Internal", on); err != nil || got != "x509:dns:bob.internal" {
		t.Errorf("DNS SAN with mTLS: %q, %v", got, err)
	}
	if _, err := identity.CheckPolicyCaller("jwt:https://idp.example.org#bob", identity.Enabled{}); err == nil {
		t.Error("JWT identity accepted with JWT off")
	}
}

// A policy names identities with their kind; Parse refuses a bare name.
func ExampleParse() {
	for _, s := range []string{"apikey:payroll-sync", "jwt:https://idp.example.com/#svc-42", "x509:dns:Billing.Internal", "bob"} {
		id, err := identity.Parse(s)
		if err != nil {
			fmt.Println("error:", strings.SplitN(err.Error(), ";", 2)[0])
			continue
		}
		fmt.Printf("%v: %s\n", id.Kind, id)
	}
	// Output:
	// API key: apikey:payroll-sync
	// JWT: jwt:https://idp.example.com/#svc-42
	// client certificate (DNS SAN): x509:dns:billing.internal
	// error: "bob" does not say which kind of identity it is
}
