package access

import (
	"context"
	"crypto/x509"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// peerIdentity is the identity in the client certificate of this call's
// connection, if the TLS handshake verified one. A certificate the server
// merely received (tls.RequireAnyClientCert) proves nothing and is ignored.
func peerIdentity(ctx context.Context) (string, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok || p.AuthInfo == nil {
		return "", false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return "", false
	}
	return chainIdentity(info.State.VerifiedChains)
}

// chainIdentity is the identity of the leaf of the first verified chain.
func chainIdentity(chains [][]*x509.Certificate) (string, bool) {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return "", false
	}
	id := certIdentity(chains[0][0])
	return id, id != ""
}

// certIdentity names a client certificate's subject: its first URI SAN (a
// SPIFFE ID such as spiffe://example.org/payroll), else its first DNS SAN,
// else its Subject CN. SANs come first because that is where modern issuers
// put the identity; CN is the legacy fallback.
func certIdentity(leaf *x509.Certificate) string {
	if len(leaf.URIs) > 0 && leaf.URIs[0] != nil {
		return leaf.URIs[0].String()
	}
	if len(leaf.DNSNames) > 0 {
		return leaf.DNSNames[0]
	}
	return leaf.Subject.CommonName
}
