package testkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signer is a JWT signing key: what an identity provider signs with. Key is
// a crypto.Signer for real algorithms, or jwt.UnsafeAllowNoneSignatureType
// with jwt.SigningMethodNone to forge an unsigned token.
type Signer struct {
	KID    string
	Method jwt.SigningMethod
	Key    any
}

// ES256Signer returns a fresh P-256 ES256 signer naming kid.
func ES256Signer(t testing.TB, kid string) Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	failOn(t, err)
	return Signer{KID: kid, Method: jwt.SigningMethodES256, Key: k}
}

// ES384Signer returns a fresh P-384 ES384 signer naming kid.
func ES384Signer(t testing.TB, kid string) Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	failOn(t, err)
	return Signer{KID: kid, Method: jwt.SigningMethodES384, Key: k}
}

// RS256Signer returns a fresh 2048-bit RS256 signer naming kid.
func RS256Signer(t testing.TB, kid string) Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	failOn(t, err)
	return Signer{KID: kid, Method: jwt.SigningMethodRS256, Key: k}
}

// EdDSASigner returns a fresh Ed25519 signer naming kid.
func EdDSASigner(t testing.TB, kid string) Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	failOn(t, err)
	return Signer{KID: kid, Method: jwt.SigningMethodEdDSA, Key: k}
}

// Sign makes a JWT with claims, naming the signer's kid if it has one.
func (s Signer) Sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.Method, claims)
	if s.KID != "" {
		tok.Header["kid"] = s.KID
	}
	out, err := tok.SignedString(s.Key)
	failOn(t, err)
	return out
}

// JWK is the public half of the signer as a JWK.
func (s Signer) JWK() map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]any{"kid": s.KID, "use": "sig", "alg": s.Method.Alg()}
	priv, ok := s.Key.(crypto.Signer)
	if !ok {
		panic("testkit: JWK of a Signer without a crypto.Signer key")
	}
	switch pub := priv.Public().(type) {
	case *rsa.PublicKey:
		m["kty"] = "RSA"
		m["n"] = b64(pub.N.Bytes())
		m["e"] = b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		raw := must(pub.Bytes()) // 0x04 || X || Y
		size := (len(raw) - 1) / 2
		m["kty"] = "EC"
		m["crv"] = pub.Curve.Params().Name
		m["x"] = b64(raw[1 : 1+size])
		m["y"] = b64(raw[1+size:])
	case ed25519.PublicKey:
		m["kty"] = "OKP"
		m["crv"] = "Ed25519"
		m["x"] = b64(pub)
	}
	return m
}

// JWKS is a JWK Set of the signers' public keys, as a JWKS file or URL
// serves it.
func JWKS(signers ...Signer) []byte {
	keys := make([]map[string]any, 0, len(signers))
	for _, s := range signers {
		keys = append(keys, s.JWK())
	}
	return must(json.Marshal(map[string]any{"keys": keys}))
}

// Claims are registered claims for sub from issuer for audience, issued a
// minute before now and valid for ttl after it.
func Claims(issuer, audience, sub string, now time.Time, ttl time.Duration) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": issuer, "aud": audience, "sub": sub,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	}
}

// failOn fails t on err.
func failOn(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// JWKSFile writes the signers' JWK Set to a file in a temporary directory
// of t and returns its path, for a JWKS file configuration.
func JWKSFile(t testing.TB, signers ...Signer) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwks.json")
	failOn(t, os.WriteFile(path, JWKS(signers...), 0o600))
	return path
}
