package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/callnote"
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
// and caller, the name the access guard authenticated, when it did, and
// suppressed, when sampling (AccessLogSampling) dropped lines of the same
// kind before this one. The level is the one go-grpc-middleware gives the
// code (logging.DefaultServerCodeToLevel), except health checks, at DEBUG:
// probes call them every few seconds. Payloads are never logged:
// GetToken's response is a live credential.
//
// It is written here rather than taken from go-grpc-middleware because
// that interceptor was a fifth of a GetToken's CPU under load: it builds
// its fields (a start time formatted as text among them) for every call
// before the logger decides whether to write them, and it had to be
// installed twice behind two selectors to log health at DEBUG. This one
// decides the level, and whether sampling drops the line, first and builds
// nothing for a line that is not written.

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
	// kinds counts lines per kind for sampling, and holds each kind's
	// logger with its caller and code encoded once.
	kinds *lineKinds
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

func newAccessLog(log *slog.Logger, sampling AccessLogSampling) accessLog {
	return accessLog{
		log: log, byMethod: new(sync.Map), peers: new(peerAddrs), deadline: new(atomic.Pointer[renderedDeadline]),
		kinds: newLineKinds(sampling),
	}
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
	var note *callnote.Note
	if !health {
		// For the access guard to say who called.
		ctx, note = callnote.With(ctx)
	}
	start := time.Now()
	if note != nil {
		note.SetStart(start) // the access guard's audit record starts here too
	}
	resp, err := handler(ctx, req)
	a.write(ctx, info.FullMethod, "unary", health, note, err, start)
	return resp, err
}

func (a accessLog) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := ss.Context()
	health := isHealthMethod(info.FullMethod)
	if health && !a.log.Enabled(ctx, slog.LevelDebug) {
		return handler(srv, ss)
	}
	var note *callnote.Note
	if !health {
		ctx, note = callnote.With(ctx)
		ss = &contextStream{ServerStream: ss, ctx: ctx}
	}
	start := time.Now()
	if note != nil {
		note.SetStart(start)
	}
	err := handler(srv, ss)
	a.write(ctx, info.FullMethod, streamType(info), health, note, err, start)
	return err
}

// write logs the line for a call that started at start and ended with
// err; note, if any, names its caller.
func (a accessLog) write(ctx context.Context, fullMethod, methodType string, health bool, note *callnote.Note, err error, start time.Time) {
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
	var caller string
	if note != nil {
		caller = note.Caller()
	}
	var (
		log        *slog.Logger // with the fields the line does not add itself
		suppressed uint64
	)
	if level < slog.LevelWarn {
		// Sampled, so counted; WARN and above never are, and never
		// take a place among the counted kinds.
		sec := start.Unix()
		if a.kinds.sweepDue(sec) {
			a.kinds.sweep(sec, reportSuppressed)
		}
		k := lineKey{method: fullMethod, caller: caller, code: code}
		for {
			lk := a.kind(k, methodType, level)
			if lk == nil {
				break
			}
			write, n, ok := a.kinds.count(lk, sec)
			if !ok {
				a.kinds.forget(k, lk)
				continue
			}
			if !write {
				return
			}
			log, suppressed = lk.log, n
			break
		}
	}
	// One clock read for the line's time and the duration: the same
	// instant, read once.
	end := time.Now()
	d := end.Sub(start)
	// Five attributes or fewer are held in the record without allocating:
	// a kind's logger has its caller and code already.
	var buf [8]slog.Attr
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
	if log == nil {
		log = a.methodLog(fullMethod, methodType)
		if caller != "" {
			attrs = append(attrs, slog.String("caller", caller))
		}
		attrs = append(attrs, slog.String("grpc.code", code.String()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("grpc.error", err.Error()))
	}
	attrs = append(attrs, slog.String("grpc.duration", d.String()))
	if suppressed > 0 {
		attrs = append(attrs, slog.Uint64("suppressed", suppressed))
	}
	// A record of our own rather than LogAttrs, which spends a tenth of
	// its time finding its caller's program counter for a source
	// position the service never logs.
	r := slog.NewRecord(end, level, accessLogMessage, 0)
	r.AddAttrs(attrs...)
	_ = log.Handler().Handle(ctx, r)
}

// kind returns the counted kind of k's lines, nil when there are as many
// kinds as maxLineKinds already.
func (a accessLog) kind(k lineKey, methodType string, level slog.Level) *lineKind {
	return a.kinds.kind(k, func() *lineKind {
		attrs := make([]any, 0, 2)
		if k.caller != "" {
			attrs = append(attrs, slog.String("caller", k.caller))
		}
		attrs = append(attrs, slog.String("grpc.code", k.code.String()))
		return &lineKind{log: a.methodLog(k.method, methodType).With(attrs...), level: level}
	})
}

// flushSuppressed reports every kind's dropped lines that no written line
// reported yet, on lines of their own: at shutdown, after the last call.
func (a accessLog) flushSuppressed() {
	a.kinds.sweep(math.MaxInt64, reportSuppressed)
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
