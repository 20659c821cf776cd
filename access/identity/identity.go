// Package identity names callers so that two ways of authenticating can
// never produce the same name. Every identity starts with its kind, and
// where a kind has more than one possible issuer, with the issuer:
//
//	apikey:<name>               an API key configured for caller <name>
//	jwt:<issuer>#<subject>      a JWT from <issuer> whose caller claim is <subject>
//	spiffe://<domain>/<path>    a client certificate whose first URI SAN is a SPIFFE ID
//	x509:uri:<uri>              a client certificate whose first URI SAN is another URI
//	x509:dns:<name>             a client certificate with no URI SAN; its first DNS SAN
//	x509:cn:<common name>       a client certificate with neither; its Subject CN
//
// So a JWT with sub "bob" (jwt:https://idp.example#bob) or a certificate
// with CN "bob" (x509:cn:bob) never gets the rights of the API-key caller
// "bob" (apikey:bob). Policies name identities in these forms; a bare name
// is refused by Parse because it could mean any of them.
//
// The package has no dependencies beyond the standard library, so that both
// the configuration and the access guard can use it.
package identity

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Kind is how an identity was proved.
type Kind int

// The kinds of identity. The zero Kind is no identity.
const (
	// APIKey: "apikey:<name>", a bearer key configured for caller <name>.
	APIKey Kind = iota + 1
	// JWT: "jwt:<issuer>#<subject>", a bearer JWT from <issuer>.
	JWT
	// SPIFFE: "spiffe://…", a client certificate's SPIFFE ID (URI SAN).
	SPIFFE
	// X509URI: "x509:uri:<uri>", a client certificate's first URI SAN
	// when it is not a SPIFFE ID.
	X509URI
	// X509DNS: "x509:dns:<name>", a client certificate's first DNS SAN,
	// when it has no URI SAN. Lower case, as DNS names compare.
	X509DNS
	// X509CN: "x509:cn:<name>", a client certificate's Subject CN, when it
	// has no SAN at all.
	X509CN
)

// The prefixes that begin each kind of identity.
const (
	prefixAPIKey  = "apikey:"
	prefixJWT     = "jwt:"
	prefixSPIFFE  = "spiffe://"
	prefixX509URI = "x509:uri:"
	prefixX509DNS = "x509:dns:"
	prefixX509CN  = "x509:cn:"
)

// MaxNameBytes bounds an API key caller name: it is logged with every
// audited call.
const MaxNameBytes = 128

// String names the kind as error messages and documentation spell it.
func (k Kind) String() string {
	switch k {
	case APIKey:
		return "API key"
	case JWT:
		return "JWT"
	case SPIFFE:
		return "client certificate (SPIFFE ID)"
	case X509URI:
		return "client certificate (URI SAN)"
	case X509DNS:
		return "client certificate (DNS SAN)"
	case X509CN:
		return "client certificate (Subject CN)"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// Certificate reports whether the kind is proved by a client certificate.
func (k Kind) Certificate() bool {
	switch k {
	case SPIFFE, X509URI, X509DNS, X509CN:
		return true
	}
	return false
}

// Identity is a parsed identity.
type Identity struct {
	// Kind is how the identity is proved.
	Kind Kind
	// Issuer is the JWT issuer; empty for other kinds.
	Issuer string
	// Name is what follows the kind (and issuer): the API key caller, the
	// JWT subject, the URI, DNS name or CN. For SPIFFE it is the whole ID.
	Name string
}

// String returns the identity in its canonical form, as Caller names and
// policies use it.
func (id Identity) String() string {
	switch id.Kind {
	case APIKey:
		return FromAPIKey(id.Name)
	case JWT:
		return FromJWT(id.Issuer, id.Name)
	case SPIFFE:
		return id.Name
	case X509URI:
		return prefixX509URI + id.Name
	case X509DNS:
		return prefixX509DNS + strings.ToLower(id.Name)
	case X509CN:
		return prefixX509CN + id.Name
	}
	return ""
}

// FromAPIKey is the identity of the API key configured for caller name.
func FromAPIKey(name string) string { return prefixAPIKey + name }

// FromJWT is the identity of a JWT from issuer whose caller claim is
// subject. Issuer never contains '#' (CheckIssuer), so the first '#' after
// the prefix always ends it, whatever the subject holds.
func FromJWT(issuer, subject string) string { return prefixJWT + issuer + "#" + subject }

// FromCertificate is the identity of a verified client certificate: its
// first URI SAN (a SPIFFE ID as is, any other URI as x509:uri:), else its
// first DNS SAN, else its Subject CN. SANs come first because that is where
// modern issuers put the identity; CN is the legacy fallback. It is "" for
// a certificate that names nothing.
func FromCertificate(leaf *x509.Certificate) string {
	if leaf == nil {
		return ""
	}
	if len(leaf.URIs) > 0 && leaf.URIs[0] != nil {
		u := leaf.URIs[0].String()
		if leaf.URIs[0].Scheme == "spiffe" {
			return u
		}
		return prefixX509URI + u
	}
	if len(leaf.DNSNames) > 0 && leaf.DNSNames[0] != "" {
		return prefixX509DNS + strings.ToLower(leaf.DNSNames[0])
	}
	if cn := leaf.Subject.CommonName; cn != "" {
		return prefixX509CN + cn
	}
	return ""
}

// Parse reads an identity as a policy names it. A name without a kind, such
// as "bob", is an error: it could be an API key caller, a JWT subject or a
// certificate name, and the three must never share rights.
func Parse(s string) (Identity, error) {
	switch {
	case s == "":
		return Identity{}, errors.New("empty identity")
	case strings.HasPrefix(s, prefixAPIKey):
		name := s[len(prefixAPIKey):]
		if name == "" {
			return Identity{}, fmt.Errorf("%q: apikey: must be followed by an API key caller name", s)
		}
		if err := CheckAPIKeyName(name); err != nil {
			return Identity{}, err
		}
		return Identity{Kind: APIKey, Name: name}, nil
	case strings.HasPrefix(s, prefixJWT):
		issuer, subject, ok := strings.Cut(s[len(prefixJWT):], "#")
		if !ok || issuer == "" || subject == "" {
			return Identity{}, fmt.Errorf("%q: a JWT identity is jwt:<issuer>#<subject>", s)
		}
		return Identity{Kind: JWT, Issuer: issuer, Name: subject}, nil
	case strings.HasPrefix(strings.ToLower(s), prefixSPIFFE):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return Identity{}, fmt.Errorf("%q: not a SPIFFE ID (spiffe://<trust domain>/<path>)", s)
		}
		return Identity{Kind: SPIFFE, Name: u.String()}, nil
	case strings.HasPrefix(s, prefixX509URI):
		u, err := url.Parse(s[len(prefixX509URI):])
		if err != nil || u.Scheme == "" {
			return Identity{}, fmt.Errorf("%q: x509:uri: must be followed by an absolute URI", s)
		}
		return Identity{Kind: X509URI, Name: u.String()}, nil
	case strings.HasPrefix(s, prefixX509DNS):
		name := s[len(prefixX509DNS):]
		if name == "" {
			return Identity{}, fmt.Errorf("%q: x509:dns: must be followed by a DNS name", s)
		}
		return Identity{Kind: X509DNS, Name: strings.ToLower(name)}, nil
	case strings.HasPrefix(s, prefixX509CN):
		name := s[len(prefixX509CN):]
		if name == "" {
			return Identity{}, fmt.Errorf("%q: x509:cn: must be followed by a common name", s)
		}
		return Identity{Kind: X509CN, Name: name}, nil
	}
	return Identity{}, fmt.Errorf("%q does not say which kind of identity it is; write %s, %s, %s, %s or %s",
		s, FromAPIKey(s), FromJWT("<issuer>", s), prefixX509DNS+s, prefixX509CN+s, "spiffe://<trust domain>/<path>")
}

// CheckAPIKeyName accepts an API key caller name: 1 to MaxNameBytes
// letters, digits, '.', '_', '-' or '@'. No ':' or '#', so a name never
// looks like another kind of identity, and nothing that needs quoting in a
// log line.
func CheckAPIKeyName(name string) error {
	if name == "" {
		return errors.New("required")
	}
	if len(name) > MaxNameBytes {
		return fmt.Errorf("API key caller name longer than %d bytes", MaxNameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@') {
			return fmt.Errorf("API key caller name %q: use only letters, digits, '.', '_', '-' and '@'", name)
		}
	}
	return nil
}

// CheckIssuer accepts a JWT issuer for use in identities: non-empty and
// without '#', which ends the issuer in jwt:<issuer>#<subject>. OpenID
// Connect issuers are URLs without a fragment, so real ones qualify.
func CheckIssuer(issuer string) error {
	if issuer == "" {
		return errors.New("required")
	}
	if strings.Contains(issuer, "#") {
		return errors.New("must not contain '#' (an issuer URL has no fragment)")
	}
	return nil
}

// Enabled says which kinds of identity a gateway can authenticate, for
// CheckPolicyCaller.
type Enabled struct {
	// APIKeyCallers are the configured API key caller names.
	APIKeyCallers []string
	// JWTIssuer is the configured JWT issuer; empty when JWTs are off.
	JWTIssuer string
	// Certificates: client certificates are accepted (mTLS).
	Certificates bool
}

// CheckPolicyCaller parses a policy's caller and checks it could ever
// match: an API key caller that has a key, the configured JWT issuer, a
// certificate kind only when certificates are accepted. It returns the
// canonical form to key the policy by. A policy that can match nobody is
// refused as the mistake it is (a typo, or a kind left unconfigured).
func CheckPolicyCaller(caller string, on Enabled) (string, error) {
	id, err := Parse(caller)
	if err != nil {
		return "", err
	}
	switch {
	case id.Kind == APIKey:
		for _, n := range on.APIKeyCallers {
			if n == id.Name {
				return id.String(), nil
			}
		}
		return "", fmt.Errorf("%q: no API key is configured for caller %q", caller, id.Name)
	case id.Kind == JWT:
		if on.JWTIssuer == "" {
			return "", fmt.Errorf("%q names a JWT identity but JWT authentication is not configured", caller)
		}
		if id.Issuer != on.JWTIssuer {
			return "", fmt.Errorf("%q: issuer %q is not the configured JWT issuer %q", caller, id.Issuer, on.JWTIssuer)
		}
	case id.Kind.Certificate():
		if !on.Certificates {
			return "", fmt.Errorf("%q names a %s but client certificates are not accepted (mTLS is off)", caller, id.Kind)
		}
	}
	return id.String(), nil
}
