package server_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/server"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A REST request's span is named after the route that matched, whether
// or not metrics are on (otelhttp renames the span after the handler if
// net/http's ServeMux set the request's Pattern, and must not undo the
// route's name; /v1/ requests now skip that mux, see newRESTMux).
func TestRESTSpanIsNamedAfterTheRoute(t *testing.T) {
	for _, metrics := range []bool{true, false} {
		t.Run(map[bool]string{true: "metrics on", false: "metrics off"}[metrics], func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			t.Cleanup(func() { tp.Shutdown(t.Context()) })
			g := startGateway(t, func(c *server.Config) {
				c.TracerProvider = tp
				if metrics {
					withMetrics(prometheus.NewRegistry())(c)
				}
			})
			g.restCall(t, http.MethodGet, "/v1/accounts/demo/token")
			g.restCall(t, http.MethodGet, "/v1/no/such/route")
			// The server span ends once the handler has returned, which can
			// be after the client has read the response; the gateway's
			// stop waits for every request.
			if err := g.stop(); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, sp := range exp.GetSpans() {
				if sp.SpanKind == trace.SpanKindServer && sp.InstrumentationScope.Name != "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc" {
					names = append(names, sp.Name)
				}
			}
			slices.Sort(names)
			if want := []string{"GET", "GET /v1/accounts/{account}/token"}; !slices.Equal(names, want) {
				t.Fatalf("REST server spans %q, want %q", names, want)
			}
		})
	}
}
