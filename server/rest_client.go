package server

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/internal/ctxvalue"
	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// restCall is what the REST facade's outermost handler learns about a
// request, for the handlers inside it: one context value (and one copy of
// the request) per request, rather than one per concern.
type restCall struct {
	// clientAddr is the REST client's address (see clientAddr); valid
	// only if hasAddr.
	clientAddr netip.AddrPort
	hasAddr    bool
	// route is the template of the route that matched, set by the router
	// that matched it (setRoute), for the request's metrics.
	route string
	// peer, addr and ip are the in-process call's peer (see
	// inprocConn.peerFor), kept here so that it costs no allocation of its
	// own: the restCall is allocated anyway. peerOf sets them.
	peer peer.Peer
	addr net.TCPAddr
	ip   [net.IPv6len]byte
}

// peerOf is base with the client's address, as the gRPC server's tap
// would make it of the address sent as metadata (withClientAddr). A REST
// request makes one in-process call, so the restCall holds one peer.
func (c *restCall) peerOf(base *peer.Peer) *peer.Peer {
	a := c.clientAddr.Addr()
	var ip net.IP
	if a.Is4() {
		b := a.As4()
		ip = c.ip[:net.IPv4len]
		copy(ip, b[:])
	} else {
		b := a.As16()
		ip = c.ip[:]
		copy(ip, b[:])
	}
	// net.TCPAddrFromAddrPort, without allocating the address or its IP.
	c.addr = net.TCPAddr{IP: ip, Zone: a.Zone(), Port: int(c.clientAddr.Port())}
	c.peer = *base
	c.peer.Addr = &c.addr
	return &c.peer
}

type restCallKey struct{}

// withRESTCall returns ctx carrying a new restCall, and the restCall: one
// allocation for both.
func withRESTCall(ctx context.Context) (context.Context, *restCall) {
	c := ctxvalue.With[restCallKey](ctx, restCall{})
	return c, &c.Val
}

// restCallOf returns the request's restCall, or nil outside the facade.
func restCallOf(ctx context.Context) *restCall {
	c, _ := ctxvalue.From[restCallKey, restCall](ctx)
	return c
}

// restCallContext is the REST facade's outermost handler. It settles the
// request id before anything can answer (a 404 or a refused body carries
// it too): the client's X-Request-Id when well-formed, else a new one, on
// the response and on the request, whence it becomes the gRPC call's
// x-request-id. It also works out the client's address for logs and
// audit (see clientAddr), which restClientMetadata, or the in-process
// connection (inprocConn.peerFor), hands to the gRPC server.
func restCallContext(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestid.Or(r.Header.Get(requestid.Header))
		// One slice for both headers (requestid.Header is canonical):
		// Set would make one each. Neither is modified in place, only
		// replaced or appended to, which copies a full slice.
		ids := []string{id}
		r.Header[requestid.Header] = ids
		w.Header()[requestid.Header] = ids
		ctx, call := withRESTCall(r.Context())
		call.clientAddr, call.hasAddr = clientAddr(r, trusted)
		r = r.WithContext(ctx)
		next.ServeHTTP(w, r)
	})
}

// restClientMetadata passes the client address restCallContext found to the
// gRPC server (grpc-gateway's WithMetadata; custom routes get it through
// AnnotateContext) for the calls that go over a connection: those conn
// (the facade's unary connection) runs in-process read it from the
// request's context instead, which saves building and copying metadata
// for it. conn may be any connection.
func restClientMetadata(conn grpc.ClientConnInterface) func(context.Context, *http.Request) metadata.MD {
	inproc, _ := conn.(*inprocConn)
	return func(ctx context.Context, r *http.Request) metadata.MD {
		if inproc != nil {
			if m, ok := runtime.RPCMethod(ctx); ok && inproc.serves(m) {
				return nil
			}
		}
		return clientAddrMetadata(r)
	}
}

// restMetadata is the facade's one grpc-gateway metadata annotator: client's
// metadata, then extra's (Config.RESTMetadata, may be nil). grpc-gateway
// joins every annotator's metadata into a new copy, so two annotators cost
// a copy more than one, even when the first has nothing to add.
func restMetadata(client, extra func(context.Context, *http.Request) metadata.MD) func(context.Context, *http.Request) metadata.MD {
	if extra == nil {
		return client
	}
	return func(ctx context.Context, r *http.Request) metadata.MD {
		md := client(ctx, r)
		if md == nil {
			return extra(ctx, r)
		}
		return metadata.Join(md, extra(ctx, r))
	}
}

// clientAddrMetadata is the client address restCallContext found for r, as
// metadata.
func clientAddrMetadata(r *http.Request) metadata.MD {
	call := restCallOf(r.Context())
	if call == nil || !call.hasAddr {
		return nil
	}
	// clientAddrKey is lower case already: no need for metadata.Pairs' pass.
	return metadata.MD{clientAddrKey: {call.clientAddr.String()}}
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
