package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// The access log is one line per finished gRPC call (REST requests
// included: they are gRPC calls through the facade), message "finished
// call", with the fields go-grpc-middleware's logging interceptor wrote
// before this replaced it, less grpc.start_time (the line's time less
// grpc.duration):
//
//	protocol, grpc.component, grpc.service, grpc.method, grpc.method_type,
//	request_id, peer.address, grpc.request.deadline (if any), grpc.code,
//	grpc.error (if any), grpc.duration
//
// at the level go-grpc-middleware gives the code (logging.DefaultServerCodeToLevel),
// except health checks, at DEBUG: probes call them every few seconds.
// Payloads are never logged: GetToken's response is a live credential.
//
// It is written here rather than taken from go-grpc-middleware because
// that interceptor was a fifth of a GetToken's CPU under load: it builds
// its fields (a start time formatted as text among them) for every call
// before the logger decides whether to write them, and it had to be
// installed twice behind two selectors to log health at DEBUG. This one
// decides the level first and builds nothing for a line that is not
// written.

const accessLogMessage = "finished call"

// accessLog is the access-log interceptor pair.
type accessLog struct {
	log *slog.Logger
	// byMethod holds, per full method name, log with the fields that are
	// the same on every line of the method, which the JSON handler then
	// encodes once instead of on every call. Only registered methods
	// reach the interceptors, so it stays small.
	byMethod *sync.Map // string → *slog.Logger
	// peers renders peer addresses: a connection's calls all log the same
	// one, which formatting anew cost a few allocations per line.
	peers *peerAddrs
	// deadline is the last deadline rendered: RFC 3339 has whole seconds,
	// so concurrent calls mostly share their deadline's rendering.
	deadline *atomic.Pointer[renderedDeadline]
}

// renderedDeadline is a deadline's second, its location and its
// rendering, immutable.
type renderedDeadline struct {
	sec int64
	loc *time.Location
	s   string
}

// renderDeadline is dl.Format(time.RFC3339), reusing the last rendering
// when dl falls in the same second of the same location.
func (a accessLog) renderDeadline(dl time.Time) string {
	sec, loc := dl.Unix(), dl.Location()
	if r := a.deadline.Load(); r != nil && r.sec == sec && r.loc == loc {
		return r.s
	}
	s := dl.Format(time.RFC3339)
	a.deadline.Store(&renderedDeadline{sec: sec, loc: loc, s: s})
	return s
}

func newAccessLog(log *slog.Logger) accessLog {
	return accessLog{log: log, byMethod: new(sync.Map), peers: new(peerAddrs), deadline: new(atomic.Pointer[renderedDeadline])}
}

// methodLog is log with the method's constant fields.
func (a accessLog) methodLog(fullMethod, methodType string) *slog.Logger {
	if l, ok := a.byMethod.Load(fullMethod); ok {
		return l.(*slog.Logger)
	}
	service, method := splitMethod(fullMethod)
	l := a.log.With(
		slog.String("protocol", "grpc"),
		slog.String("grpc.component", "server"),
		slog.String("grpc.service", service),
		slog.String("grpc.method", method),
		slog.String("grpc.method_type", methodType),
	)
	a.byMethod.Store(fullMethod, l)
	return l
}

func (a accessLog) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	health := isHealthMethod(info.FullMethod)
	if health && !a.log.Enabled(ctx, slog.LevelDebug) {
		return handler(ctx, req)
	}
	start := time.Now()
	resp, err := handler(ctx, req)
	a.write(ctx, info.FullMethod, "unary", health, err, start)
	return resp, err
}

func (a accessLog) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := ss.Context()
	health := isHealthMethod(info.FullMethod)
	if health && !a.log.Enabled(ctx, slog.LevelDebug) {
		return handler(srv, ss)
	}
	start := time.Now()
	err := handler(srv, ss)
	a.write(ctx, info.FullMethod, streamType(info), health, err, start)
	return err
}

// write logs the line for a call that started at start and ended with err.
func (a accessLog) write(ctx context.Context, fullMethod, methodType string, health bool, err error, start time.Time) {
	if errors.Is(err, io.EOF) {
		err = nil
	}
	code := status.Code(err)
	level := slog.Level(logging.DefaultServerCodeToLevel(code))
	if health {
		level = slog.LevelDebug
	}
	if !a.log.Enabled(ctx, level) {
		return
	}
	// One clock read for the line's time and the duration: the same
	// instant, read once.
	end := time.Now()
	d := end.Sub(start)
	// Five attributes or fewer are held in the record without allocating.
	var buf [6]slog.Attr
	attrs := buf[:0]
	if id := requestid.From(ctx); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer.address", a.peers.render(p.Addr)))
	}
	if dl, ok := ctx.Deadline(); ok {
		attrs = append(attrs, slog.String("grpc.request.deadline", a.renderDeadline(dl)))
	}
	attrs = append(attrs, slog.String("grpc.code", code.String()))
	if err != nil {
		attrs = append(attrs, slog.String("grpc.error", err.Error()))
	}
	attrs = append(attrs, slog.String("grpc.duration", d.String()))
	// A record of our own rather than LogAttrs, which spends a tenth of
	// its time finding its caller's program counter for a source
	// position the service never logs.
	r := slog.NewRecord(end, level, accessLogMessage, 0)
	r.AddAttrs(attrs...)
	_ = a.methodLog(fullMethod, methodType).Handler().Handle(ctx, r)
}

// healthMethodPrefix starts the full name of every grpc.health.v1.Health
// method (healthpb.Health_Check_FullMethodName, …).
const healthMethodPrefix = "/grpc.health.v1.Health/"

// isHealthMethod reports whether fullMethod is grpc.health.v1.Health's.
func isHealthMethod(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, healthMethodPrefix)
}

// splitMethod splits "/pkg.Service/Method".
func splitMethod(fullMethod string) (service, method string) {
	s := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "unknown", s
}

// streamType names a stream's kind as go-grpc-middleware did.
func streamType(info *grpc.StreamServerInfo) string {
	switch {
	case info.IsClientStream && info.IsServerStream:
		return "bidi_stream"
	case info.IsClientStream:
		return "client_stream"
	case info.IsServerStream:
		return "server_stream"
	}
	return "unary"
}
