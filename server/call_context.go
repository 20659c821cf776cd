package server

import (
	"context"
	"net"
	"net/netip"

	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// clientAddrKey is the metadata with which the REST facade tells the gRPC
// server the address of the REST client (the TCP peer, or the client named
// by X-Forwarded-For from a trusted proxy). It is believed only on the
// in-process connection: on the network port anyone could send it.
const clientAddrKey = "x-eeo-gateway-client-addr"

// reservedMetadataPrefix marks metadata only the facade may set; no REST
// header is ever passed on under it.
const reservedMetadataPrefix = "x-eeo-gateway-"

// callContext is the first thing every call sees after recovery, so that
// the access log, the access guard's audit events and the handlers all see
// the same request id and client address:
//
//   - the request id: the caller's x-request-id when well-formed, else a
//     new one, in the context (requestid.From) and returned to the caller
//     as x-request-id header metadata;
//   - for calls from the REST facade, the REST client's address in place
//     of the in-process connection's, so logs and audit name the caller
//     and not "bufconn".
//
// It reads the two keys it needs one by one: FromIncomingContext would copy
// every key's values first.
func callContext(ctx context.Context) (context.Context, string) {
	var sent string
	if v := metadata.ValueFromIncomingContext(ctx, requestid.MetadataKey); len(v) > 0 {
		sent = v[0]
	}
	id := requestid.Or(sent)
	ctx = requestid.With(ctx, id)
	if p, ok := peer.FromContext(ctx); ok {
		if _, internal := p.AuthInfo.(InternalAuthInfo); internal {
			if v := metadata.ValueFromIncomingContext(ctx, clientAddrKey); len(v) == 1 {
				if ap, err := netip.ParseAddrPort(v[0]); err == nil && !hasAddr(p, ap) {
					real := *p
					real.Addr = net.TCPAddrFromAddrPort(ap)
					ctx = peer.NewContext(ctx, &real)
				}
			}
		}
	}
	return ctx, id
}

// hasAddr says whether p's address is ap already: the server's tap (see
// admission) has usually put the REST client's address in place by the
// time callContext runs, and a second copy of the peer would be waste.
func hasAddr(p *peer.Peer, ap netip.AddrPort) bool {
	a, ok := p.Addr.(*net.TCPAddr)
	return ok && a.AddrPort() == ap
}

func unaryCallContext(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, id := callContext(ctx)
	grpc.SetHeader(ctx, metadata.Pairs(requestid.MetadataKey, id))
	annotateCallSpan(ctx, id, req)
	return handler(ctx, req)
}

func streamCallContext(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, id := callContext(ss.Context())
	ss.SetHeader(metadata.Pairs(requestid.MetadataKey, id))
	ss = &contextStream{ServerStream: ss, ctx: ctx}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		annotateCallSpan(ctx, id, nil)
		ss = &accountSpanStream{ServerStream: ss}
	}
	return handler(srv, ss)
}

// contextStream is a ServerStream with a replaced context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
