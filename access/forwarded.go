package access

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"

	"google.golang.org/grpc/metadata"
)

// Metadata keys the REST facade uses to forward a client certificate's
// identity to the gRPC server it dials.
const (
	// ForwardedCallerKey carries the identity taken from the REST client's
	// verified certificate. It is a binary ("-bin") key because a Subject CN
	// may hold characters plain metadata cannot.
	ForwardedCallerKey = "x-eeo-gateway-forwarded-caller-bin"
	// ForwardedProofKey carries an HMAC of that identity under the Guard's
	// per-process secret; without a matching one the identity is ignored.
	ForwardedProofKey = "x-eeo-gateway-forwarded-proof"
)

// forwarder vouches for identities the REST facade forwards. Its secret is
// random per process, lives only in memory and is never logged or sent: the
// metadata carries an HMAC of the identity under it instead. So a value
// seen on the wire proves that one identity only, and cannot be re-used to
// claim another.
type forwarder struct {
	secret [32]byte
}

func newForwarder() (*forwarder, error) {
	f := &forwarder{}
	if _, err := rand.Read(f.secret[:]); err != nil {
		return nil, err
	}
	return f, nil
}

// proof binds identity to this process's secret.
func (f *forwarder) proof(identity string) string {
	mac := hmac.New(sha256.New, f.secret[:])
	mac.Write([]byte("eeo-gateway forwarded client certificate identity\x00"))
	mac.Write([]byte(identity))
	return hex.EncodeToString(mac.Sum(nil))
}

// identity returns the forwarded identity if the metadata vouches for it.
// Exactly one identity and one proof are required: a client that smuggles
// in a second value (say, through a header the facade passed on) makes the
// pair ambiguous, and ambiguity is refused rather than resolved.
func (f *forwarder) identity(md metadata.MD) (string, bool) {
	ids, proofs := md.Get(ForwardedCallerKey), md.Get(ForwardedProofKey)
	if len(ids) != 1 || len(proofs) != 1 || ids[0] == "" {
		return "", false
	}
	want := f.proof(ids[0])
	if subtle.ConstantTimeCompare([]byte(want), []byte(proofs[0])) != 1 {
		return "", false
	}
	return ids[0], true
}

// ForwardCertificate is for the REST facade, which serves HTTP itself and
// dials the gRPC server: the client certificate is on the HTTP connection,
// out of the gRPC server's sight. If r came over TLS with a verified client
// certificate chain and Config.MTLS is on, it returns metadata naming the
// certificate's identity with a proof the Guard accepts; otherwise it
// returns nil. Attach it to the outgoing call, e.g. with grpc-gateway's
// runtime.WithMetadata. The Guard ignores forwarded identities without a
// valid proof, so a client cannot forge one through headers.
func (g *Guard) ForwardCertificate(ctx context.Context, r *http.Request) metadata.MD {
	if !g.mtls || r == nil || r.TLS == nil {
		return nil
	}
	id, ok := chainIdentity(r.TLS.VerifiedChains)
	if !ok {
		return nil
	}
	return metadata.Pairs(ForwardedCallerKey, id, ForwardedProofKey, g.forward.proof(id))
}
