package tlsfiles

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// stamp identifies one version of a file without reading it.
type stamp struct {
	modTime int64 // UnixNano
	size    int64
	ino     uint64 // 0 where the platform has no inode numbers
}

// Roles of the files, as FileError names them.
const (
	RoleCertificate = "certificate file"
	RoleKey         = "key file"
	RoleClientCA    = "client CA file" // a server's: CAs its clients' certificates must chain to
	RoleCA          = "CA file"        // a client's: CAs the server's certificate must chain to
)

// FileError is a failure to load one of the files: which one (Role, one of
// the Role constants, and Path) and why.
type FileError struct {
	Role string
	Path string
	Err  error
}

// Error formats "tlsfiles: <role> "<path>": <problem>".
func (e *FileError) Error() string { return fmt.Sprintf("tlsfiles: %s %q: %v", e.Role, e.Path, e.Err) }

// Unwrap returns the problem, so that errors.Is(err, fs.ErrNotExist) works.
func (e *FileError) Unwrap() error { return e.Err }

// stampFile stats path (following symlinks, so an atomically swapped
// Kubernetes ..data link is seen as a change).
func stampFile(role, path string) (stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, fileErr(role, path, err)
	}
	return stamp{modTime: fi.ModTime().UnixNano(), size: fi.Size(), ino: inode(fi)}, nil
}

// stampPair stamps a certificate and key file.
func stampPair(certFile, keyFile string) ([2]stamp, error) {
	var out [2]stamp
	var err error
	if out[0], err = stampFile(RoleCertificate, certFile); err != nil {
		return out, err
	}
	out[1], err = stampFile(RoleKey, keyFile)
	return out, err
}

// fileErr is the FileError for role's path, dropping the redundant op/path
// of an *fs.PathError while keeping errors.Is working.
func fileErr(role, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &FileError{Role: role, Path: path, Err: err}
}

// loadPair stats, then reads and validates the certificate and key files.
// Stamping before reading means a write racing with the read is seen again
// at the next check rather than missed.
func loadPair(certFile, keyFile string) ([2]stamp, *tls.Certificate, error) {
	st, err := stampPair(certFile, keyFile)
	if err != nil {
		return st, nil, err
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return st, nil, fileErr(RoleCertificate, certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return st, nil, fileErr(RoleKey, keyFile, err)
	}

	ders, certs, err := parseCerts(certPEM)
	if err != nil {
		return st, nil, fileErr(RoleCertificate, certFile, err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return st, nil, fileErr(RoleKey, keyFile, err)
	}
	leaf := certs[0]
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return st, nil, fileErr(RoleKey, keyFile, fmt.Errorf("does not match certificate file %q (private key is not for the certificate's public key)", certFile))
	}
	return st, &tls.Certificate{Certificate: ders, PrivateKey: key, Leaf: leaf}, nil
}

// loadCAs stats, then reads and parses a PEM CA bundle; role names it in
// errors.
func loadCAs(role, caFile string) (stamp, *x509.CertPool, int, error) {
	st, err := stampFile(role, caFile)
	if err != nil {
		return stamp{}, nil, 0, err
	}
	data, err := os.ReadFile(caFile)
	if err != nil {
		return st, nil, 0, fileErr(role, caFile, err)
	}
	_, certs, err := parseCerts(data)
	if err != nil {
		return st, nil, 0, fileErr(role, caFile, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return st, pool, len(certs), nil
}

// parseCerts returns every CERTIFICATE block in data, in order. Other block
// types (e.g. a key in a combined file) are skipped.
func parseCerts(data []byte) ([][]byte, []*x509.Certificate, error) {
	var (
		ders   [][]byte
		certs  []*x509.Certificate
		sawPEM bool
	)
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("parse certificate #%d: %w", len(certs)+1, err)
		}
		ders = append(ders, b.Bytes)
		certs = append(certs, c)
	}
	switch {
	case len(certs) > 0:
		return ders, certs, nil
	case sawPEM:
		return nil, nil, errors.New("no certificates found (no CERTIFICATE PEM block)")
	case len(strings.TrimSpace(string(data))) == 0:
		return nil, nil, errors.New("no certificates found (file is empty)")
	default:
		return nil, nil, errors.New("no certificates found (not PEM)")
	}
}

// parseKey returns the first private key block in data, accepting the
// encodings crypto/tls accepts: PKCS#8, PKCS#1 (RSA) and SEC 1 (EC).
func parseKey(data []byte) (crypto.Signer, error) {
	sawPEM := false
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] == "4,ENCRYPTED" {
			return nil, errors.New("encrypted private keys are not supported")
		}
		if b.Type != "PRIVATE KEY" && !strings.HasSuffix(b.Type, " PRIVATE KEY") {
			continue
		}
		var (
			k   any
			err error
		)
		if k, err = x509.ParsePKCS8PrivateKey(b.Bytes); err != nil {
			if k, err = x509.ParsePKCS1PrivateKey(b.Bytes); err != nil {
				if k, err = x509.ParseECPrivateKey(b.Bytes); err != nil {
					return nil, fmt.Errorf("parse private key (%s block): not PKCS#8, PKCS#1 or SEC 1", b.Type)
				}
			}
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T", k)
		}
		return s, nil
	}
	if sawPEM {
		return nil, errors.New("no private key found (no PRIVATE KEY PEM block)")
	}
	return nil, errors.New("no private key found (not PEM)")
}
