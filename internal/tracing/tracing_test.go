package tracing_test

import (
	"context"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/tracing"
	"github.com/eeo-gateway/eeo-gateway/internal/version"
)

type env map[string]string

func (e env) get(k string) string { return e[k] }

func TestEnabledOnlyByStandardVariables(t *testing.T) {
	for _, tc := range []struct {
		env  env
		want bool
	}{
		{env{}, false},
		{env{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{env{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{env{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{env{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false},
		{env{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false},
		{env{"OTEL_SERVICE_NAME": "x"}, false},
	} {
		if got := tracing.Enabled(tc.env.get); got != tc.want {
			t.Errorf("Enabled(%v) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	ctx := context.Background()
	if tr, err := tracing.FromEnv(ctx, env{}.get, version.Info{}); tr != nil || err != nil {
		t.Fatalf("no variables: %v, %v; want tracing off", tr, err)
	}
	for _, bad := range []env{
		{"OTEL_TRACES_EXPORTER": "zipkin"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
	} {
		if _, err := tracing.FromEnv(ctx, bad.get, version.Info{}); err == nil {
			t.Errorf("FromEnv(%v) succeeded, want an error naming the variable", bad)
		}
	}
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		tr, err := tracing.FromEnv(ctx, env{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": protocol}.get, version.Info{Version: "v1"})
		if err != nil || tr == nil || tr.Provider == nil || tr.Propagator == nil {
			t.Fatalf("FromEnv(%s) = %v, %v", protocol, tr, err)
		}
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		tr.Shutdown(sctx) // nothing to flush; the collector need not exist
		cancel()
	}
}
