package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// serverMetrics are the server's own metrics. Every label value comes from
// a fixed set (gRPC method names, route templates, status codes, HTTP
// methods), never from what a caller sent: the raw path, say, would let
// any client create series without bound.
type serverMetrics struct {
	grpc     *grpcprom.ServerMetrics
	rest     *restMetrics
	checksum *prometheus.CounterVec
}

// newServerMetrics registers the server's metrics with reg.
func newServerMetrics(reg prometheus.Registerer, requests *requestLog) (*serverMetrics, error) {
	m := &serverMetrics{
		grpc: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram()),
		rest: newRESTMetrics(),
		checksum: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_checksum_failures_total",
			Help: "Uploads and downloads that failed an integrity check, by gRPC method and reason: CHECKSUM_MISMATCH (the caller's expected_sha256) or DATA_LOSS (EEO's bytes or SHA-256 disagree).",
		}, []string{"grpc_method", "reason"}),
	}
	idLog := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "eeo_gateway_request_id_log_entries",
		Help: "Import and report request ids remembered in this replica's memory for idempotent retries (bounded; entries expire after 24h). With Redis configured only those claimed while it was down: the rest are in Redis.",
	}, func() float64 { return float64(requests.len()) })
	for _, c := range []prometheus.Collector{m.grpc, m.rest.requests, m.rest.duration, m.checksum, idLog} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// restMetrics count REST requests by method, route template and status.
type restMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newRESTMetrics() *restMetrics {
	labels := []string{"method", "route", "code"}
	return &restMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_http_requests_total",
			Help: "REST requests by HTTP method, route template and status code.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eeo_gateway_http_request_duration_seconds",
			Help:    "Time from a REST request's arrival until its handler returned (uploads and downloads included), by method, route template and status code.",
			Buckets: prometheus.DefBuckets,
		}, labels),
	}
}

// routeUnmatched labels requests that matched no route.
const routeUnmatched = "unmatched"

// routeOf is the route r matched: grpc-gateway's template if it routed r
// (call.route, from setRoute), else the net/http pattern (less its method)
// of the facade's own routes. The catch-all "/" that hands requests to
// grpc-gateway is no route.
func routeOf(call *restCall, r *http.Request) string {
	if call.route != "" {
		return call.route
	}
	_, path, _ := strings.Cut(r.Pattern, " ")
	if path == "" || path == "/" {
		return routeUnmatched
	}
	return path
}

// setRoute records the matched route template for the request's metrics.
func setRoute(ctx context.Context, route string) {
	if c := restCallOf(ctx); c != nil {
		c.route = route
	}
}

// wrap instruments next. A handler that aborts the connection (a download
// whose bytes turned out wrong) is counted with the status it had sent.
func (m *restMetrics) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// restCallContext, outside, has put the request's restCall in
		// place; the route lands there.
		call := restCallOf(r.Context())
		if call == nil {
			var ctx context.Context
			ctx, call = withRESTCall(r.Context())
			r = r.WithContext(ctx)
		}
		start := time.Now()
		ww := &statusWriter{ResponseWriter: w}
		defer func() {
			code := ww.status()
			// Label values in newRESTMetrics' order: WithLabelValues spares
			// each request a Labels map and its lookups.
			method, route, status := methodLabel(r.Method), routeOf(call, r), strconv.Itoa(code)
			m.requests.WithLabelValues(method, route, status).Inc()
			m.duration.WithLabelValues(method, route, status).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(ww, r)
	})
}

// routeMiddleware is a grpc-gateway middleware: it runs once the mux has
// matched a route, and records that route's template. grpc-gateway wraps
// each route's handler on its own (ServeMux.Handle), so one closure serves
// one route and renders its template once, not per request (Pattern.String
// and the rewrite cost eight allocations). TestRESTMetricsUseRouteTemplates
// calls several routes of one server and would see them share a label.
func routeMiddleware(next runtime.HandlerFunc) runtime.HandlerFunc {
	var template atomic.Pointer[string]
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			route := template.Load()
			if route == nil {
				t := routeTemplate(p.String())
				route = &t
				template.Store(route)
			}
			setRoute(r.Context(), *route)
			annotateRESTSpan(r, *route)
		}
		next(w, r, params)
	}
}

// routeTemplate turns grpc-gateway's "/v1/accounts/{account=*}/token" into
// the familiar "/v1/accounts/{account}/token".
func routeTemplate(pattern string) string {
	return strings.ReplaceAll(pattern, "=*}", "}")
}

// methodLabel bounds the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// countChecksumFailure counts err if it is an integrity failure.
func (m *serverMetrics) countChecksumFailure(fullMethod string, err error) {
	if err == nil {
		return
	}
	switch reason := rpcerr.Info(err).GetReason(); reason {
	case ReasonChecksumMismatch, ReasonDataLoss:
		m.checksum.WithLabelValues(fullMethod[strings.LastIndexByte(fullMethod, '/')+1:], reason).Inc()
	}
}

func (m *serverMetrics) streamChecksum(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	err := handler(srv, ss)
	m.countChecksumFailure(info.FullMethod, err)
	return err
}
