package server

import (
	"context"
	"errors"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/grpc/test/bufconn"
)

// newTestInproc is an inprocConn to a health server whose every call goes
// through tap and the interceptors, outermost first.
func newTestInproc(t *testing.T, tapFn tap.ServerInHandle, ints ...grpc.UnaryServerInterceptor) *inprocConn {
	t.Helper()
	methods := inprocMethods{}
	methods.add(&healthpb.Health_ServiceDesc, health.NewServer())
	pass := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(ctx, req)
	}
	return newInprocConn(nil, methods, tapFn, chainUnary(append(ints, pass)), bufconn.Listen(1).Addr())
}

func check(ctx context.Context, c *inprocConn, opts ...grpc.CallOption) (*healthpb.HealthCheckResponse, error) {
	return healthpb.NewHealthClient(c).Check(ctx, &healthpb.HealthCheckRequest{}, opts...)
}

// A call through inprocConn sees what a call over the in-process
// connection would: the facade's outgoing metadata as incoming metadata,
// the facade's peer, the tap's context, its own request copy and a context
// that ends with the caller's; its header and trailer reach the caller.
func TestInprocCallLooksLikeAConnectionCall(t *testing.T) {
	type tapKey struct{}
	tapFn := func(ctx context.Context, info *tap.Info) (context.Context, error) {
		if info.FullMethodName != healthpb.Health_Check_FullMethodName || info.Header.Get("authorization")[0] != "Bearer k" {
			t.Errorf("tap saw method %q header %v", info.FullMethodName, info.Header)
		}
		return context.WithValue(ctx, tapKey{}, "tapped"), nil
	}
	var handlerCtx context.Context
	spy := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		handlerCtx = ctx
		if md, _ := metadata.FromIncomingContext(ctx); md.Get("authorization")[0] != "Bearer k" || len(md.Get("grpc-timeout")) > 0 {
			t.Errorf("incoming metadata %v, want the facade's less what gRPC reserves", md)
		}
		if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md) > 0 {
			t.Errorf("the handler's context carries the facade's outgoing metadata %v", md)
		}
		if p, ok := peer.FromContext(ctx); !ok || p.AuthInfo.AuthType() != (InternalAuthInfo{}).AuthType() || p.Addr.String() != "bufconn" {
			t.Errorf("peer %+v, want the in-process connection's", p)
		}
		if ctx.Value(tapKey{}) != "tapped" {
			t.Error("the tap's context did not reach the interceptors")
		}
		if m, _ := grpc.Method(ctx); m != healthpb.Health_Check_FullMethodName {
			t.Errorf("grpc.Method = %q", m)
		}
		req.(*healthpb.HealthCheckRequest).Service = "changed by the handler"
		grpc.SetHeader(ctx, metadata.Pairs("x-request-id", "r1"))
		grpc.SetTrailer(ctx, metadata.Pairs("t", "1"))
		return h(ctx, &healthpb.HealthCheckRequest{})
	}
	c := newTestInproc(t, tapFn, spy)
	callerCtx, endCall := context.WithCancel(t.Context())
	ctx := metadata.AppendToOutgoingContext(callerCtx, "authorization", "Bearer k", "grpc-timeout", "1n")
	req := &healthpb.HealthCheckRequest{}
	var header, trailer metadata.MD
	resp := &healthpb.HealthCheckResponse{}
	if err := c.Invoke(ctx, healthpb.Health_Check_FullMethodName, req, resp, grpc.Header(&header), grpc.Trailer(&trailer)); err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("response %v", resp)
	}
	if req.GetService() != "" {
		t.Error("the handler changed the caller's request: it must get a copy")
	}
	if header.Get("x-request-id")[0] != "r1" || trailer.Get("t")[0] != "1" {
		t.Errorf("header %v, trailer %v; want what the handler set", header, trailer)
	}
	endCall()
	if handlerCtx.Err() == nil {
		t.Error("the call's context is still live after the caller's ended")
	}
}

// Refusals and failures reach the caller as the statuses a connection
// would have carried.
func TestInprocCallStatuses(t *testing.T) {
	refused := status.Error(codes.Unauthenticated, "no credentials")
	refuse := func(ctx context.Context, _ *tap.Info) (context.Context, error) { return nil, refused }
	plainRefuse := func(ctx context.Context, _ *tap.Info) (context.Context, error) { return nil, errors.New("no") }
	fail := func(err error) grpc.UnaryServerInterceptor {
		return func(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) { return nil, err }
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tc := range []struct {
		name string
		c    *inprocConn
		ctx  context.Context
		want codes.Code
	}{
		{"tap refusal", newTestInproc(t, refuse), t.Context(), codes.Unauthenticated},
		{"tap refusal without a status", newTestInproc(t, plainRefuse), t.Context(), codes.PermissionDenied},
		{"status error", newTestInproc(t, nil, fail(status.Error(codes.NotFound, "x"))), t.Context(), codes.NotFound},
		{"plain error", newTestInproc(t, nil, fail(errors.New("boom"))), t.Context(), codes.Unknown},
		{"context error", newTestInproc(t, nil, fail(context.DeadlineExceeded)), t.Context(), codes.DeadlineExceeded},
		{"cancelled caller", newTestInproc(t, nil), cancelled, codes.Canceled},
		{"response over the send limit", func() *inprocConn { c := newTestInproc(t, nil); c.maxSend = 1; return c }(), t.Context(), codes.ResourceExhausted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := check(tc.ctx, tc.c)
			if got := status.Code(err); got != tc.want {
				t.Errorf("code %v (%v), want %v", got, err, tc.want)
			}
			if _, ok := status.FromError(err); !ok {
				t.Errorf("%v is not a status error", err)
			}
		})
	}
}

// The caller's response holds every field the handler set, nested messages
// included, and a response of the wrong type is an INTERNAL error, not a
// panic.
func TestInprocResponseReachesTheCaller(t *testing.T) {
	src := &eeov1.GetTokenResponse{Token: &eeov1.Token{Account: "demo", AccessToken: "t", IssueTime: timestamppb.New(time.Unix(1, 0))}}
	dst := &eeov1.GetTokenResponse{}
	if err := shareFields(dst, src); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(dst, src) {
		t.Errorf("caller got %v, handler sent %v", dst, src)
	}
	err := shareFields(&healthpb.HealthCheckResponse{}, src)
	if status.Code(err) != codes.Internal {
		t.Errorf("mismatched response: %v, want INTERNAL", err)
	}
}
