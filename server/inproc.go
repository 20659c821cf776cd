package server

import (
	"context"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/proto"
)

// inprocConn is the REST facade's connection for unary calls. Sending a
// unary call over the in-process HTTP/2 connection cost a REST request
// more than the rest of the gRPC call: a client stream, HPACK both ways,
// the request and response marshalled and parsed again, two writer
// goroutines. inprocConn instead hands the call to the gRPC server's
// method handler directly, through exactly what the in-process connection
// would have put it through:
//
//   - the incoming metadata is the outgoing metadata the facade set, or
//     on a direct route (restDirectRoute) the metadata it built;
//   - the peer is the in-process connection's (InternalAuthInfo), so the
//     REST client's forwarded identity is believed as before, with the REST
//     client's address, which the facade left in the context for it
//     rather than in metadata (peerFor);
//   - the server's tap (admission, then Config.StreamTap) runs first and
//     its refusal is the call's status;
//   - then the server's whole unary interceptor chain (recovery, call
//     context, logging, metrics, caller authentication, …) and the handler;
//   - grpc.SetHeader and SetTrailer work, and reach the caller's
//     grpc.Header / grpc.Trailer call options;
//   - a handler error becomes its status (a plain error UNKNOWN, a context
//     error its code), and a response over the send limit
//     RESOURCE_EXHAUSTED, as grpc-go does;
//   - the call's context is the caller's, not a child cancelled when the
//     handler returns: every caller ends its context right after the call
//     (grpc-gateway's generated handlers once the response is written,
//     its health endpoint and the direct routes with the HTTP request),
//     and a child of its own
//     cost each REST call three allocations (the child, the parent's
//     children map and done channel) and about 0.7 µs.
//
// The handler gets its own copy of the request, as over a connection; the
// caller gets the handler's response itself (see shareFields). Streams,
// and methods it does not know, go over the in-process connection. With
// tracing on, unary calls do too, so the gRPC server span and its stats
// handler stay as they were (and no direct route is registered).
type inprocConn struct {
	conn      *grpc.ClientConn // the in-process connection
	methods   map[string]inprocMethod
	tap       tap.ServerInHandle
	intercept grpc.UnaryServerInterceptor
	peer      *peer.Peer
	maxSend   int
}

// inprocMethod is a registered unary method and the service implementing it.
type inprocMethod struct {
	srv     any
	handler grpc.MethodHandler
}

// inprocMethods collects the unary methods of the services a server
// registers.
type inprocMethods map[string]inprocMethod

// add records desc's unary methods, implemented by srv.
func (m inprocMethods) add(desc *grpc.ServiceDesc, srv any) {
	for _, md := range desc.Methods {
		m["/"+desc.ServiceName+"/"+md.MethodName] = inprocMethod{srv: srv, handler: md.Handler}
	}
}

func newInprocConn(conn *grpc.ClientConn, methods inprocMethods, tap tap.ServerInHandle, intercept grpc.UnaryServerInterceptor, addr net.Addr) *inprocConn {
	return &inprocConn{
		conn:      conn,
		methods:   methods,
		tap:       tap,
		intercept: intercept,
		peer: &peer.Peer{Addr: addr, LocalAddr: addr,
			AuthInfo: InternalAuthInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}},
		maxSend: maxMessageBytes,
	}
}

// Invoke implements grpc.ClientConnInterface.
func (c *inprocConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	m, ok := c.methods[method]
	if !ok {
		return c.conn.Invoke(ctx, method, args, reply, opts...)
	}
	in, ok1 := args.(proto.Message)
	out, ok2 := reply.(proto.Message)
	if !ok1 || !ok2 {
		return status.Errorf(codes.Internal, "in-process call %s: request or response is not a proto.Message", method)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	// The handler's context has what the server would have made of the
	// call, and none of the facade's outgoing metadata.
	ctx = metadata.NewOutgoingContext(ctx, nil)
	resp, stream, err := c.call(ctx, method, m, in, md)
	stream.deliver(opts)
	if err != nil {
		return err
	}
	return shareFields(out, resp)
}

// call runs method's handler, m, on in as the gRPC server would run a call
// whose incoming metadata is md: Invoke's calls, and the REST facade's
// direct routes (restDirectRoute), which build md themselves. It returns
// the response and the stream holding the header and trailer the handler
// set; a non-nil error is the call's status.
func (c *inprocConn) call(ctx context.Context, method string, m inprocMethod, in proto.Message, md metadata.MD) (proto.Message, *inprocStream, error) {
	stream := &inprocStream{method: method}
	dropReserved(md)
	ctx = metadata.NewIncomingContext(ctx, md)
	ctx = peer.NewContext(ctx, c.peerFor(ctx))
	if c.tap != nil {
		var err error
		if ctx, err = c.tap(ctx, &tap.Info{FullMethodName: method, Header: md}); err != nil {
			if st, ok := status.FromError(err); ok {
				return nil, stream, st.Err()
			}
			return nil, stream, status.Error(codes.PermissionDenied, err.Error())
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, stream, status.FromContextError(err).Err()
	}
	ctx = grpc.NewContextWithServerTransportStream(ctx, stream)
	dec := func(v any) error {
		dst, ok := v.(proto.Message)
		if !ok {
			return status.Errorf(codes.Internal, "in-process call %s: request is not a proto.Message", method)
		}
		proto.Merge(dst, in)
		return nil
	}
	resp, err := m.handler(m.srv, ctx, dec, c.intercept)
	if err != nil {
		st, ok := status.FromError(err)
		if !ok {
			st = status.FromContextError(err)
		}
		return nil, stream, st.Err()
	}
	msg, ok := resp.(proto.Message)
	if !ok {
		return nil, stream, status.Errorf(codes.Internal, "in-process call %s: response is not a proto.Message", method)
	}
	if size := proto.Size(msg); size > c.maxSend {
		return nil, stream, status.Errorf(codes.ResourceExhausted, "grpc: trying to send message larger than max (%d vs. %d)", size, c.maxSend)
	}
	return msg, stream, nil
}

// shareFields makes dst, a fresh message, hold src's fields by reference
// rather than by deep copy: a handler builds its response for the one call
// and never touches it again, and the facade only reads it. A deep copy
// (proto.Merge) of a GetToken response cost five allocations — the token
// and its timestamps — and a reflective walk of every field.
func shareFields(dst, src proto.Message) error {
	d, s := dst.ProtoReflect(), src.ProtoReflect()
	if d.Descriptor() != s.Descriptor() {
		return status.Errorf(codes.Internal, "in-process call: response is a %s, the caller expects a %s", s.Descriptor().FullName(), d.Descriptor().FullName())
	}
	if s.Descriptor().ExtensionRanges().Len() > 0 {
		proto.Merge(dst, src) // extensions are not among Fields
		return nil
	}
	// Has and Get rather than Range: Range's callback would capture d and
	// cost an allocation.
	fields := s.Descriptor().Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); s.Has(fd) {
			d.Set(fd, s.Get(fd))
		}
	}
	if u := s.GetUnknown(); len(u) > 0 {
		d.SetUnknown(u)
	}
	return nil
}

// serves says whether Invoke runs method in-process rather than over the
// connection: the REST facade then passes the client's address to it
// through the request's context (peerFor), not as metadata.
func (c *inprocConn) serves(method string) bool {
	_, ok := c.methods[method]
	return ok
}

// peerFor is the peer of a call with ctx: the in-process connection's,
// with the REST client's address when the facade found one (restCall), as
// the server's tap and callContext would have made it of the address the
// facade sends over the connection (clientAddrKey).
func (c *inprocConn) peerFor(ctx context.Context) *peer.Peer {
	call := restCallOf(ctx)
	if call == nil || !call.hasAddr {
		return c.peer
	}
	return call.peerOf(c.peer)
}

// dropReserved removes from md what grpc-go's client never sends as
// metadata (pseudo-headers, content-type, grpc-timeout, …), so that a
// header the REST facade lets through cannot reach the handler under a
// reserved name here when it could not over a connection.
func dropReserved(md metadata.MD) {
	for k := range md {
		if strings.HasPrefix(k, ":") {
			delete(md, k)
			continue
		}
		switch k {
		case "content-type", "user-agent", "grpc-message-type", "grpc-encoding", "grpc-message", "grpc-status", "grpc-timeout", "te":
			delete(md, k)
		}
	}
}

// NewStream implements grpc.ClientConnInterface over the in-process
// connection.
func (c *inprocConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.conn.NewStream(ctx, desc, method, opts...)
}

// inprocStream is the grpc.ServerTransportStream of an in-process call: it
// collects the header and trailer metadata the handler sets.
type inprocStream struct {
	method          string
	header, trailer metadata.MD
}

func (s *inprocStream) Method() string { return s.method }

func (s *inprocStream) SetHeader(md metadata.MD) error {
	if s.header == nil {
		// The common case, one SetHeader (the request id): no merge.
		s.header = md
		return nil
	}
	s.header = metadata.Join(s.header, md)
	return nil
}

func (s *inprocStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }

func (s *inprocStream) SetTrailer(md metadata.MD) error {
	s.trailer = metadata.Join(s.trailer, md)
	return nil
}

// deliver hands the header and trailer to the caller's call options.
func (s *inprocStream) deliver(opts []grpc.CallOption) {
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = s.header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = s.trailer
		}
	}
}

// chainUnary makes one interceptor of ints, outermost first, as
// grpc.ChainUnaryInterceptor does: the server and the in-process
// connection run the very same chain.
func chainUnary(ints []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return ints[0](ctx, req, info, chainedHandler(ints, 0, info, handler))
	}
}

func chainedHandler(ints []grpc.UnaryServerInterceptor, i int, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) grpc.UnaryHandler {
	if i == len(ints)-1 {
		return final
	}
	return func(ctx context.Context, req any) (any, error) {
		return ints[i+1](ctx, req, info, chainedHandler(ints, i+1, info, final))
	}
}

var _ grpc.ClientConnInterface = (*inprocConn)(nil)
