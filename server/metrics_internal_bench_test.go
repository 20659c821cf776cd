package server

import (
	"context"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/cpuclock"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// BenchmarkMetricsInterceptors is what metrics add to every unary call:
// the gRPC server metrics' interceptor around a handler that does nothing. Compare with BenchmarkGetTokenObservability/off's
// ns/op to see the share metrics take of a GetToken.
func BenchmarkMetricsInterceptors(b *testing.B) {
	m, err := newServerMetrics(prometheus.NewRegistry(), newRequestLog(requestIDTTL, maxRequestIDs, nil))
	if err != nil {
		b.Fatal(err)
	}
	var intercept grpc.UnaryServerInterceptor = m.grpc.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: eeov1.TokenService_GetToken_FullMethodName}
	ctx := context.Background()
	req := &eeov1.GetTokenRequest{Account: "demo"}
	b.ReportAllocs()
	cpu := cpuclock.Self()
	for b.Loop() {
		intercept(ctx, req, info, nothing)
	}
	b.ReportMetric(float64((cpuclock.Self()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func nothing(context.Context, any) (any, error) { return nil, nil }
