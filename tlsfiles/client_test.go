package tlsfiles_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/tlsfiles"
)

// trusts reports whether cfg's root CAs verify a server certificate
// issued by ca.
func trusts(cfg *tls.Config, ca *testkit.Cert) bool {
	leaf := ca.Server("server", testkit.DNS("server.internal")).Cert
	_, err := leaf.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, DNSName: "server.internal"})
	return err == nil
}

// clientCN is the common name of cfg's client certificate, "" for none.
func clientCN(cfg *tls.Config) string {
	if len(cfg.Certificates) == 0 {
		return ""
	}
	return cfg.Certificates[0].Leaf.Subject.CommonName
}

// A client's CA bundle and certificate, rotated on disk, are what the next
// ClientConfig hands out once CheckEvery has passed; a broken rotation
// keeps the last good material.
func TestClientConfigReloadsRotatedFiles(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	oldCA, newCA := testkit.NewCA("old CA"), testkit.NewCA("new CA")
	oldCert, newCert := oldCA.Client("client-1"), newCA.Client("client-2")
	writeAtomic(caFile, oldCA.CertPEM)
	writeAtomic(certFile, oldCert.CertPEM)
	writeAtomic(keyFile, oldCert.KeyPEM)

	clock := testkit.NewClockAt(time.Now())
	logs := &logBuffer{}
	r, err := tlsfiles.NewClient(tlsfiles.ClientOptions{CertFile: certFile, KeyFile: keyFile, CAFile: caFile,
		CheckEvery: 10 * time.Second, Now: clock.Now, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.ClientConfig(); !trusts(c, oldCA) || trusts(c, newCA) || clientCN(c) != "client-1" || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("first config: trusts old %v, new %v; client %q; min version %x", trusts(c, oldCA), trusts(c, newCA), clientCN(c), c.MinVersion)
	}

	writeAtomic(caFile, newCA.CertPEM)
	writeAtomic(certFile, newCert.CertPEM)
	writeAtomic(keyFile, newCert.KeyPEM)
	if c := r.ClientConfig(); !trusts(c, oldCA) || clientCN(c) != "client-1" {
		t.Error("the files were looked at again before CheckEvery passed")
	}
	clock.Advance(10 * time.Second)
	if c := r.ClientConfig(); !trusts(c, newCA) || trusts(c, oldCA) || clientCN(c) != "client-2" {
		t.Errorf("after rotation: trusts new %v, old %v; client %q", trusts(c, newCA), trusts(c, oldCA), clientCN(c))
	}
	if n := logs.count("tlsfiles: CA bundle reloaded", "ca_file="+caFile); n != 1 {
		t.Errorf("%d CA reload lines, want 1:\n%s", n, logs.String())
	}

	writeAtomic(caFile, nil) // a rotation caught half-way
	clock.Advance(10 * time.Second)
	if c := r.ClientConfig(); !trusts(c, newCA) {
		t.Error("an empty CA file replaced the last good bundle")
	}
	if n := logs.count("level=ERROR", "tlsfiles: CA reload failed; keeping previous CA bundle"); n != 1 {
		t.Errorf("%d failed-reload lines, want 1:\n%s", n, logs.String())
	}
}

// Either file set may be left out: without a CA file the system's roots
// apply (RootCAs nil), without a certificate none is offered.
func TestClientConfigWithOnlyOneKind(t *testing.T) {
	dir := t.TempDir()
	ca := testkit.NewCA("CA")
	caFile := filepath.Join(dir, "ca.crt")
	writeAtomic(caFile, ca.CertPEM)
	r, err := tlsfiles.NewClient(tlsfiles.ClientOptions{CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.ClientConfig(); !trusts(c, ca) || clientCN(c) != "" || r.Current() != nil {
		t.Errorf("CA only: trusts %v, client %q", trusts(c, ca), clientCN(c))
	}

	cert := ca.Client("client")
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeAtomic(certFile, cert.CertPEM)
	writeAtomic(keyFile, cert.KeyPEM)
	r, err = tlsfiles.NewClient(tlsfiles.ClientOptions{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.ClientConfig(); c.RootCAs != nil || clientCN(c) != "client" {
		t.Errorf("certificate only: roots %v, client %q", c.RootCAs, clientCN(c))
	}
}

// A file that cannot be loaded is a *FileError naming its role and path.
func TestNewClientErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.crt")
	_, err := tlsfiles.NewClient(tlsfiles.ClientOptions{CAFile: missing})
	var fe *tlsfiles.FileError
	if !errors.As(err, &fe) || fe.Role != tlsfiles.RoleCA || fe.Path != missing || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing CA file: %v", err)
	}
	if _, err := tlsfiles.NewClient(tlsfiles.ClientOptions{CertFile: missing}); err == nil {
		t.Error("a certificate without a key was accepted")
	}
}
