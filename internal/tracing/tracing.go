// Package tracing sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables only, so operators configure it as they do every
// other OpenTelemetry-instrumented service, and nothing is traced (at no
// cost: no instrumentation is even installed) when none is set.
//
// Tracing is on when OTEL_TRACES_EXPORTER is "otlp" or an OTLP endpoint is
// set (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
// and off when OTEL_SDK_DISABLED is "true" or OTEL_TRACES_EXPORTER is
// "none". The exporter is OTLP over gRPC or HTTP/protobuf (the default), as
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL say;
// the exporters read their endpoint, headers, TLS and timeout variables
// themselves, and the SDK its sampler (OTEL_TRACES_SAMPLER, default
// parentbased_always_on) and resource (OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES). Context travels as W3C traceparent and
// baggage.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/internal/version"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the default service.name; OTEL_SERVICE_NAME overrides it.
const ServiceName = "eeo-gateway"

// Tracing is a running tracer provider and the propagator to use with it.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
	sdk        *sdktrace.TracerProvider
}

// Shutdown flushes spans not yet exported and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.sdk.Shutdown(ctx) }

// Enabled reports whether the environment asks for tracing.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))) {
	case "none":
		return false
	case "otlp":
		return true
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// FromEnv returns the Tracing the environment configures, or nil when it
// configures none. An unsupported exporter or protocol is an error, so a
// typo does not silently turn tracing off.
func FromEnv(ctx context.Context, getenv func(string) string, build version.Info) (*Tracing, error) {
	if exp := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))); exp != "" && exp != "otlp" && exp != "none" {
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp and none are supported", exp)
	}
	if !Enabled(getenv) {
		return nil, nil
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exporter sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		exporter, err = otlptracehttp.New(ctx)
	case "grpc":
		exporter, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: use grpc or http/protobuf", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	return New(exporter, sdktrace.WithBatcher(exporter), build)
}

// New returns a Tracing that sends spans to exporter; process tells how
// (sdktrace.WithBatcher in production, WithSyncer in tests).
func New(exporter sdktrace.SpanExporter, process sdktrace.TracerProviderOption, build version.Info) (*Tracing, error) {
	if exporter == nil {
		return nil, errors.New("tracing: an exporter is required")
	}
	// WithFromEnv comes last so OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES override the defaults.
	res, err := resource.New(context.Background(),
		resource.WithAttributes(semconv.ServiceName(ServiceName), semconv.ServiceVersion(build.Version)),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	sdk := sdktrace.NewTracerProvider(process, sdktrace.WithResource(res))
	return &Tracing{
		Provider:   sdk,
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		sdk:        sdk,
	}, nil
}
