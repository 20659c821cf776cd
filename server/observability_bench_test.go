package server_test

import (
	"context"
	"sync/atomic"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/cpuclock"
	"github.com/eeo-gateway/eeo-gateway/server"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discardExporter is an in-process span exporter that keeps nothing, so
// the benchmark measures producing and exporting spans, not memory growth.
type discardExporter struct{ spans atomic.Int64 }

func (e *discardExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.spans.Add(int64(len(s)))
	return nil
}

func (e *discardExporter) Shutdown(context.Context) error { return nil }

// BenchmarkGetTokenObservability is BenchmarkGetTokenGRPC with metrics and
// tracing off, with metrics on, and with metrics and tracing (every call
// sampled, spans batched to an in-process exporter). Compare cpu-ns/op
// (the process's CPU time per call) and ns/op:
//
//	go test -run '^$' -bench GetTokenObservability -benchtime 3s -count 5 ./server/
func BenchmarkGetTokenObservability(b *testing.B) {
	for _, bc := range []struct {
		name    string
		metrics bool
		tracing bool
	}{
		{"off", false, false},
		{"metrics", true, false},
		{"metrics+tracing", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var tp *sdktrace.TracerProvider
			g := startGateway(b, func(c *server.Config) {
				if bc.metrics {
					reg := prometheus.NewRegistry()
					c.Metrics, c.Admin.Gatherer = reg, reg
				}
				if bc.tracing {
					tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(&discardExporter{}))
					c.TracerProvider = tp
				}
			})
			if tp != nil {
				b.Cleanup(func() { tp.Shutdown(context.Background()) })
			}
			client := eeov1.NewTokenServiceClient(g.conn)
			req := &eeov1.GetTokenRequest{Account: "demo"}
			if _, err := client.GetToken(b.Context(), req); err != nil { // warm the cache
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuclock.Self()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.GetToken(b.Context(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			// CPU time (client and server, both in this process) per call:
			// steadier than ns/op on a shared machine, where wall time
			// includes waiting for a core.
			b.ReportMetric(float64((cpuclock.Self()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
