package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/internal/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestUpstreamObserver(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	u, err := metrics.NewUpstream(reg, []string{"acme"})
	if err != nil {
		t.Fatal(err)
	}
	o := u.Observer("acme")
	ctx := context.Background()
	o.SlotWaited(ctx, "get import", time.Millisecond, nil)
	o.SlotWaited(ctx, "get import", time.Second, &eeo.Error{Op: "get import", Code: eeo.CodeConcurrencyLimited})
	o.AttemptEnded(ctx, "get import", 1, 503, errors.New("503"), 10*time.Millisecond)
	o.Retrying(ctx, "get import", 1, time.Millisecond, errors.New("503"))
	o.AttemptEnded(ctx, "get import", 2, 200, nil, 10*time.Millisecond)
	o.AttemptEnded(ctx, "download report", 1, 0, errors.New("reset"), time.Millisecond)
	o.BreakerChanged("acme", "closed", "open")
	o.Streamed(ctx, "create import", 100)
	o.Streamed(ctx, "download report", 7)

	// The token endpoint, through the transport.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTooManyRequests) }))
	defer ts.Close()
	resp, err := (&http.Client{Transport: u.TokenTransport(http.DefaultTransport, "acme")}).Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	want := `
# HELP eeo_gateway_upstream_breaker_state The account's circuit breaker toward EEO: 0 closed, 1 half-open, 2 open (calls fail fast).
# TYPE eeo_gateway_upstream_breaker_state gauge
eeo_gateway_upstream_breaker_state{account="acme"} 2
# HELP eeo_gateway_upstream_bytes_total File bytes moved to or from EEO, by account and direction (upload, download).
# TYPE eeo_gateway_upstream_bytes_total counter
eeo_gateway_upstream_bytes_total{account="acme",direction="download"} 7
eeo_gateway_upstream_bytes_total{account="acme",direction="upload"} 100
# HELP eeo_gateway_upstream_concurrency_rejections_total EEO calls refused because no concurrency slot freed up within the caller's deadline (EEO_CONCURRENCY_LIMITED).
# TYPE eeo_gateway_upstream_concurrency_rejections_total counter
eeo_gateway_upstream_concurrency_rejections_total{account="acme"} 1
# HELP eeo_gateway_upstream_requests_total HTTP requests to EEO by account, operation (token, create_import, download_report, …) and status class (2xx, 4xx, 5xx; error when no answer came).
# TYPE eeo_gateway_upstream_requests_total counter
eeo_gateway_upstream_requests_total{account="acme",operation="download_report",status_class="error"} 1
eeo_gateway_upstream_requests_total{account="acme",operation="get_import",status_class="2xx"} 1
eeo_gateway_upstream_requests_total{account="acme",operation="get_import",status_class="5xx"} 1
eeo_gateway_upstream_requests_total{account="acme",operation="token",status_class="4xx"} 1
# HELP eeo_gateway_upstream_retries_total Retries of idempotent EEO calls after a failed attempt, by account and operation.
# TYPE eeo_gateway_upstream_retries_total counter
eeo_gateway_upstream_retries_total{account="acme",operation="get_import"} 1
# HELP eeo_gateway_upstream_breaker_transitions_total Circuit breaker state changes by account and the state entered (closed, half-open, open).
# TYPE eeo_gateway_upstream_breaker_transitions_total counter
eeo_gateway_upstream_breaker_transitions_total{account="acme",to="open"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"eeo_gateway_upstream_breaker_state", "eeo_gateway_upstream_bytes_total", "eeo_gateway_upstream_concurrency_rejections_total",
		"eeo_gateway_upstream_requests_total", "eeo_gateway_upstream_retries_total", "eeo_gateway_upstream_breaker_transitions_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "eeo_gateway_upstream_concurrency_wait_seconds"); n != 1 {
		t.Errorf("slot wait series = %d", n)
	}
	lint(t, reg)
}

func TestAccessObserverBoundsCallers(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a, err := metrics.NewAccess(reg, []string{"apikey:ops"})
	if err != nil {
		t.Fatal(err)
	}
	a.Authenticated("api_key", "ok")
	a.Authenticated("bearer", "invalid_credentials")
	a.Denied("apikey:ops", "token:get")
	a.Denied("jwt:https://idp#anyone-at-all", "token:get")
	a.RateLimited("spiffe://x/y")
	want := `
# HELP eeo_gateway_access_denials_total Calls refused for lack of permission, by configured caller (other for any identity the configuration does not name) and permission.
# TYPE eeo_gateway_access_denials_total counter
eeo_gateway_access_denials_total{caller="apikey:ops",permission="token:get"} 1
eeo_gateway_access_denials_total{caller="other",permission="token:get"} 1
# HELP eeo_gateway_access_rate_limited_total Calls refused by the caller's rate limit, by configured caller (other for any identity the configuration does not name).
# TYPE eeo_gateway_access_rate_limited_total counter
eeo_gateway_access_rate_limited_total{caller="other"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "eeo_gateway_access_denials_total", "eeo_gateway_access_rate_limited_total"); err != nil {
		t.Fatal(err)
	}
	lint(t, reg)
}

func lint(t *testing.T, g prometheus.Gatherer) {
	t.Helper()
	problems, err := testutil.GatherAndLint(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
