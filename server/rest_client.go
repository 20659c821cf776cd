package server

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
	"google.golang.org/grpc/metadata"
)

type clientAddrCtxKey struct{}

// restCallContext is the REST facade's outermost handler. It settles the
// request id before anything can answer (a 404 or a refused body carries
// it too): the client's X-Request-Id when well-formed, else a new one, on
// the response and on the request, whence it becomes the gRPC call's
// x-request-id. It also works out the client's address for logs and
// audit (see clientAddr), which restClientMetadata hands to the gRPC server.
func restCallContext(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestid.Or(r.Header.Get(requestid.Header))
		r.Header.Set(requestid.Header, id)
		w.Header().Set(requestid.Header, id)
		if addr, ok := clientAddr(r, trusted); ok {
			r = r.WithContext(context.WithValue(r.Context(), clientAddrCtxKey{}, addr))
		}
		next.ServeHTTP(w, r)
	})
}

// restClientMetadata passes the client address restCallContext found to the
// gRPC server (grpc-gateway's WithMetadata; custom routes get it through
// AnnotateContext).
func restClientMetadata(_ context.Context, r *http.Request) metadata.MD {
	addr, ok := r.Context().Value(clientAddrCtxKey{}).(netip.AddrPort)
	if !ok {
		return nil
	}
	// clientAddrKey is lower case already: no need for metadata.Pairs' pass.
	return metadata.MD{clientAddrKey: {addr.String()}}
}

// clientAddr is the address of the client behind r: the TCP peer, unless
// the peer is one of the trusted proxies, in which case X-Forwarded-For is
// read from the right and the first address that is not itself a trusted
// proxy is the client (port 0: the header carries none). Entries a client
// put in front of a proxy's own are never reached while a trusted proxy
// appended the real one, so a client cannot forge its address.
func clientAddr(r *http.Request, trusted []netip.Prefix) (netip.AddrPort, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.AddrPort{}, false
	}
	peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
	if !isTrusted(peer.Addr(), trusted) {
		return peer, true
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: believe nothing to its left
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return netip.AddrPortFrom(a, 0), true
		}
	}
	return peer, true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
