package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// The interceptor chain, outermost first:
//
//	recovery → call context → logging → metrics → Config.UnaryInterceptors (caller auth, …) → handler
//
// Recovery is outermost so a panic anywhere, an added interceptor included,
// becomes INTERNAL instead of killing the process. The call context (request
// id, the REST client's address) comes next so every later step logs the
// same id and address. Logging sees the final status of every call,
// rejected ones included; health checks are logged at DEBUG, since probes
// call them every few seconds. Everything the gateway adds later goes in
// Config.UnaryInterceptors / StreamInterceptors; handlers never change for
// it. REST requests pass through the same chain because the facade dials
// the gRPC server.

func unaryChain(log *slog.Logger, extra []grpc.UnaryServerInterceptor) []grpc.UnaryServerInterceptor {
	return append([]grpc.UnaryServerInterceptor{
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(recoverPanic(log))),
		unaryCallContext,
		selector.UnaryServerInterceptor(logging.UnaryServerInterceptor(slogAdapter(log), loggingOptions()...), selector.MatchFunc(notHealth)),
		selector.UnaryServerInterceptor(logging.UnaryServerInterceptor(slogAdapter(log), debugLoggingOptions()...), selector.MatchFunc(isHealth)),
	}, extra...)
}

func streamChain(log *slog.Logger, extra []grpc.StreamServerInterceptor) []grpc.StreamServerInterceptor {
	return append([]grpc.StreamServerInterceptor{
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(recoverPanic(log))),
		streamCallContext,
		selector.StreamServerInterceptor(logging.StreamServerInterceptor(slogAdapter(log), loggingOptions()...), selector.MatchFunc(notHealth)),
		selector.StreamServerInterceptor(logging.StreamServerInterceptor(slogAdapter(log), debugLoggingOptions()...), selector.MatchFunc(isHealth)),
	}, extra...)
}

func isHealth(_ context.Context, c interceptors.CallMeta) bool {
	return c.Service == healthpb.Health_ServiceDesc.ServiceName
}

func notHealth(ctx context.Context, c interceptors.CallMeta) bool { return !isHealth(ctx, c) }

// loggingOptions log one line per finished call: method, code, duration (a
// string such as "1.2ms", like every duration the gateway logs), request
// id and peer address. Payloads are never logged: GetToken's response is a
// live credential.
func loggingOptions() []logging.Option {
	return []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithDurationField(logging.DurationToDurationField),
		logging.WithFieldsFromContext(func(ctx context.Context) logging.Fields {
			if id := requestid.From(ctx); id != "" {
				return logging.Fields{"request_id", id}
			}
			return nil
		}),
	}
}

// debugLoggingOptions are loggingOptions at DEBUG whatever the outcome.
func debugLoggingOptions() []logging.Option {
	return append(loggingOptions(), logging.WithLevels(func(codes.Code) logging.Level { return logging.LevelDebug }))
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
