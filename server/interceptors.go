package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// The interceptor chain, outermost first:
//
//	recovery → call context → logging → metrics → Config.UnaryInterceptors (caller auth, …) → handler
//
// Recovery is outermost so a panic anywhere, an added interceptor included,
// becomes INTERNAL instead of killing the process. The call context (request
// id, the REST client's address) comes next so every later step logs the
// same id and address. Logging (access_log.go) sees the final status of
// every call, rejected ones included; health checks are logged at DEBUG,
// since probes call them every few seconds. Everything the gateway adds
// later goes in Config.UnaryInterceptors / StreamInterceptors; handlers
// never change for it. REST requests pass through the same chain: the
// facade's streams over an in-process connection, its unary calls through
// inprocConn, which runs the server's tap and this chain itself.

func unaryChain(log *slog.Logger, access accessLog, extra []grpc.UnaryServerInterceptor) []grpc.UnaryServerInterceptor {
	return append([]grpc.UnaryServerInterceptor{
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(recoverPanic(log))),
		unaryCallContext,
		access.unary,
	}, extra...)
}

func streamChain(log *slog.Logger, access accessLog, extra []grpc.StreamServerInterceptor) []grpc.StreamServerInterceptor {
	return append([]grpc.StreamServerInterceptor{
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(recoverPanic(log))),
		streamCallContext,
		access.stream,
	}, extra...)
}

// recoverPanic logs a handler panic and answers INTERNAL. The panic value is
// logged by type only: it could hold anything, a token included.
func recoverPanic(log *slog.Logger) recovery.RecoveryHandlerFuncContext {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in gRPC handler", "panic_type", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
		return rpcerr.New(codes.Internal, ReasonInternal, "internal error", nil)
	}
}
