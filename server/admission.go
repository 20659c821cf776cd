package server

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/preauth"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/tap"
)

// Admission is what happens to a gRPC stream between its headers and its
// first request message, before any interceptor has seen it. grpc-go reads
// a unary request whole (up to the receive limit) before the interceptor
// chain runs, so caller authentication in an interceptor comes too late to
// bound what an unauthenticated peer makes the gateway hold. So, when a
// stream's headers arrive (a grpc tap, run on the connection's reader):
//
//  1. a call through the REST facade gets the REST client's address as its
//     peer address already (callContext does it again for interceptors),
//     so the StreamTap's per-peer rules see the real client;
//  2. Config.StreamTap (the access Guard) refuses calls without credentials
//     of an acceptable form;
//  3. a network peer may have at most Limits.MaxPendingStreamsPerPeer
//     streams that the tap did not authenticate (a JWT still to verify, a
//     public method such as health) and whose first message has not yet
//     arrived, each for at most Limits.PendingStreamTimeout: a peer that
//     opens streams and stalls holds at most that many partial messages,
//     and not for long. Callers the tap authenticated (an API key, a
//     verified client certificate; see package preauth) are not counted,
//     so a burst of their calls is never refused for it.
//
// The outermost interceptors mark a stream admitted once its first message
// is in.

// Reasons of the refusals Limits counts through OnRefused.
const (
	// ReasonPeerConnectionLimit: a connection was closed at accept because
	// its peer address, or the listener, had too many already.
	ReasonPeerConnectionLimit = "PEER_CONNECTION_LIMIT"
	// ReasonPeerStreamLimit: a stream was refused (RESOURCE_EXHAUSTED) at
	// its headers because its peer address had too many streams whose
	// first message had not arrived.
	ReasonPeerStreamLimit = "PEER_PENDING_STREAM_LIMIT"
	// ReasonPendingStreamTimeout: a stream's first message did not arrive
	// within Limits.PendingStreamTimeout; the stream was cancelled.
	ReasonPendingStreamTimeout = "PENDING_STREAM_TIMEOUT"
)

// errPendingTimeout cancels a stream whose first message is overdue.
var errPendingTimeout = errors.New("the request's first message did not arrive in time")

// admission implements the steps above.
type admission struct {
	limits  Limits
	next    tap.ServerInHandle // Config.StreamTap; may be nil
	pending *peerCounter
}

func newAdmission(limits Limits, next tap.ServerInHandle) *admission {
	return &admission{limits: limits, next: next, pending: newPeerCounter(limits.MaxPendingStreamsPerPeer)}
}

// tap is the grpc.InTapHandle. It runs under the transport's lock for the
// connection, so it does no I/O.
func (a *admission) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	p, internal := fromFacade(ctx)
	if internal {
		ctx = withClientAddr(ctx, p, info.Header)
	}
	if a.next != nil {
		var err error
		if ctx, err = a.next(ctx, info); err != nil {
			return nil, err
		}
	}
	if internal || a.next == nil || preauth.Authenticated(ctx) {
		// The facade's calls carry bodies it has already bounded and read;
		// an authenticated caller is held to its own limits instead. A
		// server without a StreamTap authenticates no one and trusts every
		// caller alike.
		return ctx, nil
	}
	addr := peerIP(p)
	if !a.pending.acquire(addr) {
		a.limits.refused(ReasonPeerStreamLimit)
		return nil, rpcerr.New(codes.ResourceExhausted, ReasonPeerStreamLimit,
			"too many calls from this address are waiting for their first message; retry later", nil, rpcerr.RetryInfo(time.Second))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	ps := &pendingStream{release: func() { a.pending.release(addr) }}
	// Locked so that neither callback can end the stream before both are
	// in place.
	ps.mu.Lock()
	ps.timer = time.AfterFunc(a.limits.PendingStreamTimeout, func() {
		if ps.end() {
			a.limits.refused(ReasonPendingStreamTimeout)
			cancel(errPendingTimeout)
		}
	})
	// A stream that ends (reset, cancelled) before its first message gives
	// its place back too.
	ps.stopAfter = context.AfterFunc(ctx, func() { ps.end() })
	ps.mu.Unlock()
	return context.WithValue(ctx, pendingKey{}, ps), nil
}

// pendingKey is the context key of a stream's *pendingStream.
type pendingKey struct{}

// pendingStream is a stream's place among its peer's pending streams.
type pendingStream struct {
	release func()

	mu        sync.Mutex
	ended     bool        // guarded by mu
	timer     *time.Timer // guarded by mu
	stopAfter func() bool // guarded by mu
}

// end gives the place back; it reports whether this call did.
func (p *pendingStream) end() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return false
	}
	p.ended = true
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.stopAfter != nil {
		p.stopAfter()
	}
	p.release()
	return true
}

// admitted marks ctx's stream as past its first message.
func admitted(ctx context.Context) {
	if p, ok := ctx.Value(pendingKey{}).(*pendingStream); ok {
		p.end()
	}
}

// admitUnary is the outermost unary interceptor: by the time it runs, the
// request has arrived.
func admitUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	admitted(ctx)
	return handler(ctx, req)
}

// admitStream is the outermost stream interceptor: the stream is admitted
// when its first RecvMsg returns.
func admitStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if _, ok := ss.Context().Value(pendingKey{}).(*pendingStream); !ok {
		return handler(srv, ss)
	}
	return handler(srv, &admittingStream{ServerStream: ss})
}

type admittingStream struct {
	grpc.ServerStream
	done bool
}

func (s *admittingStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if !s.done {
		s.done = true
		admitted(s.Context())
	}
	return err
}

// fromFacade returns the call's peer and whether it came through the REST
// facade's in-process connection.
func fromFacade(ctx context.Context) (*peer.Peer, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, false
	}
	_, internal := p.AuthInfo.(InternalAuthInfo)
	return p, internal
}

// withClientAddr makes the REST client's address, as the facade passed it,
// the call's peer address; the AuthInfo stays the facade's.
func withClientAddr(ctx context.Context, p *peer.Peer, md metadata.MD) context.Context {
	vals := md.Get(clientAddrKey)
	if len(vals) != 1 {
		return ctx
	}
	ap, err := netip.ParseAddrPort(vals[0])
	if err != nil {
		return ctx
	}
	np := *p
	np.Addr = net.TCPAddrFromAddrPort(ap)
	return peer.NewContext(ctx, &np)
}

// peerIP is the address per-peer limits count by: the IP without port, and
// IPv4-mapped IPv6 unmapped so one client is one key.
func peerIP(p *peer.Peer) netip.Addr {
	if p == nil || p.Addr == nil {
		return netip.Addr{}
	}
	return addrIP(p.Addr)
}

func addrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// peerCounter counts something per peer address against a maximum. Entries
// at zero are dropped, so it holds only peers with something counted.
type peerCounter struct {
	max int
	mu  sync.Mutex
	n   map[netip.Addr]int // guarded by mu
}

func newPeerCounter(max int) *peerCounter {
	return &peerCounter{max: max, n: map[netip.Addr]int{}}
}

func (c *peerCounter) acquire(a netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[a] >= c.max {
		return false
	}
	c.n[a]++
	return true
}

func (c *peerCounter) release(a netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[a] <= 1 {
		delete(c.n, a)
		return
	}
	c.n[a]--
}
