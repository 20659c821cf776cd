package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// The interceptor chain, outermost first:
//
//	recovery → logging → Config.UnaryInterceptors (caller auth, metrics, …) → handler
//
// Recovery is outermost so a panic anywhere, an added interceptor included,
// becomes INTERNAL instead of killing the process. Logging sees the final
// status of every call, rejected ones included. Everything the gateway adds
// later goes in Config.UnaryInterceptors / StreamInterceptors; handlers
// never change for it. REST requests pass through the same chain because the
// facade dials the gRPC server.

func unaryChain(log *slog.Logger, extra []grpc.UnaryServerInterceptor) []grpc.UnaryServerInterceptor {
	return append([]grpc.UnaryServerInterceptor{
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(recoverPanic(log))),
		logging.UnaryServerInterceptor(slogAdapter(log), loggingOptions()...),
	}, extra...)
}

func streamChain(log *slog.Logger, extra []grpc.StreamServerInterceptor) []grpc.StreamServerInterceptor {
	return append([]grpc.StreamServerInterceptor{
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(recoverPanic(log))),
		logging.StreamServerInterceptor(slogAdapter(log), loggingOptions()...),
	}, extra...)
}

// loggingOptions log one line per finished call: method, code, duration.
// Payloads are never logged: GetToken's response is a live credential.
func loggingOptions() []logging.Option {
	return []logging.Option{logging.WithLogOnEvents(logging.FinishCall)}
}

func slogAdapter(log *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// recoverPanic logs a handler panic and answers INTERNAL. The panic value is
// logged by type only: it could hold anything, a token included.
func recoverPanic(log *slog.Logger) recovery.RecoveryHandlerFuncContext {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in gRPC handler", "panic_type", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
		return rpcerr.New(codes.Internal, ReasonInternal, "internal error", nil)
	}
}
