package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"time"
)

// Cert is a certificate with its P-256 key, parsed and PEM-encoded: a CA
// from NewCA or a leaf from Cert.Issue. The PKI helpers panic instead of
// taking a testing.TB, so Examples can use them; with the templates they
// build, crypto/x509 does not fail.
type Cert struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

// CertOption adjusts a certificate template before it is signed.
type CertOption func(*x509.Certificate)

// Serial sets the serial number, for tests that tell certificates apart by
// it; otherwise it is random.
func Serial(n int64) CertOption {
	return func(c *x509.Certificate) { c.SerialNumber = big.NewInt(n) }
}

// URI adds a URI SAN (a SPIFFE ID, say); an empty uri adds nothing.
func URI(uri string) CertOption {
	return func(c *x509.Certificate) {
		if uri == "" {
			return
		}
		u, err := url.Parse(uri)
		if err != nil {
			panic(err)
		}
		c.URIs = append(c.URIs, u)
	}
}

// DNS adds a DNS SAN; an empty name adds nothing.
func DNS(name string) CertOption {
	return func(c *x509.Certificate) {
		if name != "" {
			c.DNSNames = append(c.DNSNames, name)
		}
	}
}

// NewCA returns a self-signed CA named cn.
func NewCA(cn string, opts ...CertOption) *Cert {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	return sign(tmpl, nil, opts)
}

// Server issues a server certificate named cn, valid for localhost and
// 127.0.0.1.
func (ca *Cert) Server(cn string, opts ...CertOption) *Cert {
	return ca.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, opts...)
}

// Client issues a client certificate with common name cn (none if empty);
// add SANs with URI and DNS.
func (ca *Cert) Client(cn string, opts ...CertOption) *Cert {
	return ca.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, opts...)
}

// Issue signs a leaf certificate from tmpl, filling in what it leaves
// zero: a random serial, a validity from an hour ago to a day ahead, and
// the digital-signature key usage.
func (ca *Cert) Issue(tmpl *x509.Certificate, opts ...CertOption) *Cert {
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	return sign(tmpl, ca, opts)
}

// TLS returns the certificate and key for a tls.Config.
func (c *Cert) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
}

// Pool returns a pool trusting the given CAs (or self-signed certificates).
func Pool(cas ...*Cert) *x509.CertPool {
	p := x509.NewCertPool()
	for _, ca := range cas {
		p.AddCert(ca.Cert)
	}
	return p
}

// PEMBundle concatenates the certificates' PEM, as a CA bundle file holds
// them.
func PEMBundle(certs ...*Cert) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, c.CertPEM...)
	}
	return b
}

// sign completes tmpl and signs it with parent's key, or self-signs it when
// parent is nil.
func sign(tmpl *x509.Certificate, parent *Cert, opts []CertOption) *Cert {
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = must(rand.Int(rand.Reader, big.NewInt(1<<62)))
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	for _, o := range opts {
		o(tmpl)
	}
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.Cert, parent.Key
	}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, parentKey))
	return &Cert{
		Cert:    must(x509.ParseCertificate(der)),
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))}),
	}
}

// must panics on err: for the PKI helpers, whose errors would be bugs in
// the templates above.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
