package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func withMetrics(reg *prometheus.Registry) func(*server.Config) {
	return func(c *server.Config) {
		c.Metrics = reg
		c.Admin.Gatherer = reg
	}
}

func TestAdminProbesAndNoPprofByDefault(t *testing.T) {
	g := startGateway(t, nil)
	for path, want := range map[string]int{
		server.LivezPath:   http.StatusOK,
		server.ReadyzPath:  http.StatusOK,
		server.MetricsPath: http.StatusNotFound, // no Gatherer configured
		server.PprofPath:   http.StatusNotFound,
		"/v1/accounts":     http.StatusNotFound, // the admin port never carries the API
	} {
		if code, body := get(t, g.adminURL+path); code != want {
			t.Errorf("GET %s = %d %q, want %d", path, code, body, want)
		}
	}
}

func TestAdminPprofWhenEnabled(t *testing.T) {
	g := startGateway(t, func(c *server.Config) { c.Admin.Pprof = true })
	if code, body := get(t, g.adminURL+server.PprofPath); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("GET /debug/pprof/ = %d, %q", code, body)
	}
}

func TestGRPCMetricsExistForEveryMethodBeforeAnyCall(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	g := startGateway(t, withMetrics(reg))
	m := testkit.Scrape(t, nil, g.adminURL+server.MetricsPath)
	for _, method := range []string{"GetToken", "RefreshToken", "CreateImport", "DownloadReport", "WatchImport"} {
		if _, ok := m.Value("grpc_server_started_total", "grpc_method", method); !ok {
			t.Errorf("no grpc_server_started_total series for %s before any call", method)
		}
	}
	if v, ok := m.Value("grpc_server_handled_total", "grpc_method", "GetToken", "grpc_code", "OK"); !ok || v != 0 {
		t.Errorf("GetToken OK handled = %v (present %v), want 0", v, ok)
	}

	if _, err := eeov1.NewTokenServiceClient(g.conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := eeov1.NewTokenServiceClient(g.conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "nope"}); err == nil {
		t.Fatal("GetToken(nope) succeeded")
	}
	m = testkit.Scrape(t, nil, g.adminURL+server.MetricsPath)
	if v := m.Get("grpc_server_handled_total", "grpc_method", "GetToken", "grpc_code", "OK"); v != 1 {
		t.Errorf("GetToken OK handled = %v, want 1", v)
	}
	if v := m.Get("grpc_server_handled_total", "grpc_method", "GetToken", "grpc_code", "NotFound"); v != 1 {
		t.Errorf("GetToken NotFound handled = %v, want 1", v)
	}
	if v := m.Get("grpc_server_handling_seconds", "grpc_method", "GetToken"); v != 2 {
		t.Errorf("GetToken handling-time samples = %v, want 2", v)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestRESTMetricsUseRouteTemplates(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	g := startGateway(t, withMetrics(reg))
	g.restCall(t, http.MethodGet, "/v1/accounts/demo/token")
	g.restCall(t, http.MethodGet, "/v1/accounts/demo/token")
	g.restCall(t, http.MethodGet, "/v1/accounts/no-such-account/token")
	g.restCall(t, http.MethodGet, "/v1/secret-looking/raw/path")
	g.restCall(t, http.MethodGet, "/openapi.json")
	g.restCall(t, http.MethodGet, "/v1/accounts/demo/reports/r-1:download")
	g.restCall(t, http.MethodGet, "/v1/accounts")
	g.restCall(t, http.MethodPost, "/v1/accounts/demo/token:refresh")
	g.restCall(t, http.MethodGet, "/v1/accounts/demo/token")

	m := testkit.Scrape(t, nil, g.adminURL+server.MetricsPath)
	const name = "eeo_gateway_http_requests_total"
	for _, tc := range []struct {
		method, route, code string
		want                float64
	}{
		{"GET", "/v1/accounts/{account}/token", "200", 3},
		{"GET", "/v1/accounts/{account}/token", "404", 1},
		{"GET", "unmatched", "404", 1},
		{"GET", "/openapi.json", "200", 1},
		{"GET", "/v1/accounts/{account}/reports/{report_id}:download", "404", 1},
		{"GET", "/v1/accounts", "200", 1},
		{"POST", "/v1/accounts/{account}/token:refresh", "200", 1},
	} {
		if v := m.Get(name, "method", tc.method, "route", tc.route, "code", tc.code); v != tc.want {
			t.Errorf("%s{route=%q,code=%q} = %v, want %v\n%s", name, tc.route, tc.code, v, tc.want, m)
		}
	}
	for _, route := range m.LabelValues(name, "route") {
		if strings.Contains(route, "demo") || strings.Contains(route, "secret") {
			t.Errorf("route label %q carries a raw path", route)
		}
	}
	if v := m.Get("eeo_gateway_http_request_duration_seconds", "route", "/v1/accounts/{account}/token"); v != 4 {
		t.Errorf("duration samples for the token route = %v, want 4", v)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// A graceful shutdown turns /readyz (and gRPC health) unready first, and
// only then, after the drain delay, closes the API listeners.
func TestReadyzFailsAtDrainStartBeforeListenersClose(t *testing.T) {
	g := startGateway(t, func(c *server.Config) { c.DrainDelay = time.Hour })
	draining := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseDrain := func() { releaseOnce.Do(func() { close(release) }) }
	// A failure below must not leave shutdown parked in the drain wait,
	// or the package would hang until go test's timeout.
	t.Cleanup(releaseDrain)
	server.SetDrainWait(g.srv, func(d time.Duration) {
		if d != time.Hour {
			t.Errorf("drain wait %v, want the configured hour", d)
		}
		close(draining)
		<-release
	})
	if code, _ := get(t, g.adminURL+server.ReadyzPath); code != http.StatusOK {
		t.Fatalf("/readyz before shutdown = %d", code)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- g.stop() }()
	<-draining

	if code, body := get(t, g.adminURL+server.ReadyzPath); code != http.StatusServiceUnavailable || body != "draining\n" {
		t.Errorf("/readyz while draining = %d %q, want 503 draining", code, body)
	}
	if code, _ := get(t, g.adminURL+server.LivezPath); code != http.StatusOK {
		t.Errorf("/livez while draining = %d, want 200", code)
	}
	// Both API listeners still accept and serve.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	hc, err := healthpb.NewHealthClient(g.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC health while draining = %v, %v; want NOT_SERVING from a still-open listener", hc, err)
	}
	if resp, _ := g.restCall(t, http.MethodGet, "/v1/accounts/demo/token"); resp.StatusCode != http.StatusOK {
		t.Errorf("REST call while draining = %d, want 200 from a still-open listener", resp.StatusCode)
	}
	releaseDrain()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestChecksumFailuresAreCounted(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	g := startGateway(t, withMetrics(reg))
	data := []byte(csvFile)
	_, err := uploadGRPC(t.Context(), g, meta(func(m *eeov1.ImportMetadata) { m.ExpectedSha256 = sum([]byte("other")) }), data, 100)
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("upload with a wrong expected_sha256: %v", err)
	}
	if _, err := uploadGRPC(t.Context(), g, meta(), data, 100); err != nil {
		t.Fatal(err)
	}
	m := testkit.Scrape(t, nil, g.adminURL+server.MetricsPath)
	if v := m.Get("eeo_gateway_checksum_failures_total", "grpc_method", "CreateImport", "reason", server.ReasonChecksumMismatch); v != 1 {
		t.Errorf("checksum failures = %v, want 1\n%s", v, m)
	}
}
