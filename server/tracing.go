package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
)

// Span attributes the gateway adds to the instrumentation's own (method,
// status code, peer). Never a token, a secret or file content.
const (
	attrAccount   = attribute.Key("eeo.account")
	attrRequestID = attribute.Key("eeo.request_id")
)

// maxAttrAccount bounds a caller-supplied account name in a span.
const maxAttrAccount = 64

// otelOptions configure otelgrpc for cfg. Its metrics stay off: the
// gateway's metrics are Prometheus's.
func otelOptions(cfg Config) []otelgrpc.Option {
	return []otelgrpc.Option{
		otelgrpc.WithTracerProvider(cfg.TracerProvider),
		otelgrpc.WithPropagators(cfg.Propagator),
		otelgrpc.WithMeterProvider(noop.NewMeterProvider()),
	}
}

// withRESTTracing wraps the REST facade in otelhttp: a server span per
// request, continuing the caller's traceparent. The span is renamed to the
// route template once the request is routed (routeMiddleware).
func withRESTTracing(cfg Config, h http.Handler) http.Handler {
	if cfg.TracerProvider == nil {
		return h
	}
	return otelhttp.NewHandler(h, "REST",
		otelhttp.WithTracerProvider(cfg.TracerProvider),
		otelhttp.WithPropagators(cfg.Propagator),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(restSpanName),
	)
}

// restSpanName names a REST request's span: its method, and the template of
// the route that matched once one has (restCall.route). otelhttp asks again
// after the handler when net/http's ServeMux has set the request's Pattern,
// and would otherwise undo annotateRESTSpan's name. Since the /v1/ short cut
// (newRESTMux) no API request passes the ServeMux, so today this guards the
// name only should a grpc-gateway route ever be reached through it.
func restSpanName(_ string, r *http.Request) string {
	if c := restCallOf(r.Context()); c != nil && c.route != "" {
		return r.Method + " " + c.route
	}
	return r.Method
}

// annotateRESTSpan names the REST request's span after its route template
// and records its request id.
func annotateRESTSpan(r *http.Request, route string) {
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() {
		return
	}
	span.SetName(r.Method + " " + route)
	span.SetAttributes(attribute.String("http.route", route), attrRequestID.String(r.Header.Get(requestid.Header)))
}

// accountOf is the account a request names, if it names one.
func accountOf(req any) (string, bool) {
	a, ok := req.(interface{ GetAccount() string })
	if !ok || a.GetAccount() == "" {
		return "", false
	}
	acct := a.GetAccount()
	if len(acct) <= maxAttrAccount {
		return acct, true
	}
	// Cut on a rune boundary: OTLP marshals attributes as proto strings,
	// and one invalid UTF-8 value fails the export of the whole batch.
	return strings.ToValidUTF8(acct[:maxAttrAccount], ""), true
}

// annotateCallSpan records the call's request id and, once known, its
// account on the gRPC call's span.
func annotateCallSpan(ctx context.Context, id string, req any) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attrRequestID.String(id))
	if acct, ok := accountOf(req); ok {
		span.SetAttributes(attrAccount.String(acct))
	}
}

// accountSpanStream records the account of a stream's first message on
// its span.
type accountSpanStream struct {
	grpc.ServerStream
	done bool
}

func (s *accountSpanStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && !s.done {
		s.done = true
		if acct, ok := accountOf(m); ok {
			trace.SpanFromContext(s.Context()).SetAttributes(attrAccount.String(acct))
		}
	}
	return err
}

// traceExemplar attaches a sampled call's trace id to its gRPC metrics as
// an exemplar (served in the OpenMetrics format), so a latency spike on a
// dashboard leads to a trace of it.
func traceExemplar(ctx context.Context) prometheus.Labels {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		return prometheus.Labels{"trace_id": sc.TraceID().String()}
	}
	return nil
}
