package main

import (
	"context"
	"net/http"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/internal/metrics"
	"github.com/eeo-gateway/eeo-gateway/internal/tracing"
	"github.com/eeo-gateway/eeo-gateway/internal/version"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// observability is what the stack exposes about itself: the Prometheus
// registry served on the admin listener, and tracing when the OTEL_*
// environment (or a test) asks for it.
type observability struct {
	registry *prometheus.Registry
	upstream *metrics.Upstream
	access   *metrics.Access
	tracing  *tracing.Tracing // nil: tracing off, nothing instrumented
}

// newObservability builds the registry and, if configured, tracing. A
// test's spanExporter replaces the OTEL_* environment and exports each
// span as it ends.
// Callers named by guardCfg's policies label the access metrics; any
// other identity is "other".
func newObservability(ctx context.Context, e env, cfg config.Config, guardCfg access.Config) (*observability, error) {
	build := version.Get()
	o := &observability{registry: metrics.NewRegistry(build)}
	accounts := make([]string, 0, len(cfg.Accounts))
	for _, a := range cfg.Accounts {
		accounts = append(accounts, a.Name)
	}
	var callers []string
	for _, p := range guardCfg.Policies {
		callers = append(callers, p.Caller)
	}
	var err error
	if o.upstream, err = metrics.NewUpstream(o.registry, accounts); err != nil {
		return nil, err
	}
	if o.access, err = metrics.NewAccess(o.registry, callers); err != nil {
		return nil, err
	}
	if e.spanExporter != nil {
		o.tracing, err = tracing.New(e.spanExporter, sdktrace.WithSyncer(e.spanExporter), build)
	} else {
		o.tracing, err = tracing.FromEnv(ctx, e.getenv, build)
	}
	if err != nil {
		return nil, err
	}
	return o, nil
}

// upstreamTransport adds tracing to a transport toward EEO: a client span
// per request, and the W3C traceparent header, so EEO's side of a call
// joins the caller's trace. A nil o adds nothing.
func (o *observability) upstreamTransport(rt http.RoundTripper, what string) http.RoundTripper {
	if o == nil || o.tracing == nil {
		return rt
	}
	return otelhttp.NewTransport(rt,
		otelhttp.WithTracerProvider(o.tracing.Provider),
		otelhttp.WithPropagators(o.tracing.Propagator),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "EEO " + what + " " + r.Method }),
	)
}

// tokenTransport is account's transport to EEO's token endpoint: counted
// as operation "token", and traced. A nil o adds nothing.
func (o *observability) tokenTransport(rt http.RoundTripper, account string) http.RoundTripper {
	if o == nil {
		return rt
	}
	return o.upstreamTransport(o.upstream.TokenTransport(rt, account), "token")
}

// upstreamObserver is account's EEO client's Observer; nil (the client's
// no-op) for a nil o.
func (o *observability) upstreamObserver(account string) eeo.Observer {
	if o == nil {
		return nil
	}
	return o.upstream.Observer(account)
}

// shutdown flushes spans still buffered.
func (o *observability) shutdown(ctx context.Context) {
	if o.tracing != nil {
		o.tracing.Shutdown(ctx)
	}
}

// tracerProvider is the server's TracerProvider: nil when tracing is off,
// so no instrumentation is installed.
func (o *observability) tracerProvider() trace.TracerProvider {
	if o.tracing == nil {
		return nil
	}
	return o.tracing.Provider
}

func (o *observability) propagator() propagation.TextMapPropagator {
	if o.tracing == nil {
		return nil
	}
	return o.tracing.Propagator
}
