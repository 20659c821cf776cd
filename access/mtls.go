package access

import (
	"context"
	"crypto/x509"

	"github.com/eeo-gateway/eeo-gateway/access/identity"

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

// chainIdentity is the identity of the leaf of the first verified chain:
// spiffe://…, x509:uri:…, x509:dns:… or x509:cn:… (see package identity).
func chainIdentity(chains [][]*x509.Certificate) (string, bool) {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return "", false
	}
	id := identity.FromCertificate(chains[0][0])
	return id, id != ""
}
