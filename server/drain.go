package server

import (
	"context"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// endWatchesOnDrain ends health Watch streams once they have told their
// watcher NOT_SERVING during shutdown. A Watch never ends by itself, and
// GracefulStop waits for every stream, so one open watcher would otherwise
// hold shutdown for the whole ShutdownTimeout and then get every other call
// cut off.
func endWatchesOnDrain(draining context.Context) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if info.FullMethod != healthpb.Health_Watch_FullMethodName {
			return handler(srv, ss)
		}
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		return handler(srv, &drainingWatch{ServerStream: ss, ctx: ctx, end: cancel, draining: draining})
	}
}

type drainingWatch struct {
	grpc.ServerStream
	ctx      context.Context
	end      context.CancelFunc
	draining context.Context
}

func (w *drainingWatch) Context() context.Context { return w.ctx }

func (w *drainingWatch) SendMsg(m any) error {
	err := w.ServerStream.SendMsg(m)
	if r, ok := m.(*healthpb.HealthCheckResponse); ok && w.draining.Err() != nil &&
		r.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
		w.end()
	}
	return err
}
