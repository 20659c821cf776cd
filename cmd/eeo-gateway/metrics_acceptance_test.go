package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// series names one time series: a metric and label pairs.
type series struct {
	name   string
	labels []string
}

func s(name string, labels ...string) series { return series{name, labels} }

// A scripted sequence through `serve --config` — a cold GetToken, a hit, a
// RefreshToken, an upload, a report download, EEO answering 503 until the
// breaker opens, a call the open breaker refuses, a denied and an
// unauthenticated call — moves every series by exactly what happened, as a
// Prometheus scrape of the admin listener shows; and every metric the
// gateway exposes passes promlint.
func TestMetricsScrapeAfterScriptedSequence(t *testing.T) {
	clock := testkit.NewClock()
	st := startProdStack(t, prodStackOptions{sandboxNow: clock.Now, extraYAML: `
upstream:
  retry: {max_attempts: 2, initial_backoff: 1ms, max_backoff: 2ms}
  breaker: {consecutive_failures: 2, open_duration: 1h}
`})
	conn, err := grpc.NewClient(st.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+st.key)
	tokens := eeov1.NewTokenServiceClient(conn)
	files := eeov1.NewImportReportServiceClient(conn)
	scrape := func() testkit.Metrics { return testkit.Scrape(t, nil, st.adminURL+"/metrics") }
	before := scrape()

	// Tokens: a cold call fetches, the next one hits, a refresh fetches.
	if _, err := tokens.GetToken(ctx, &eeov1.GetTokenRequest{Account: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.GetToken(ctx, &eeov1.GetTokenRequest{Account: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.RefreshToken(ctx, &eeov1.RefreshTokenRequest{Account: "acme"}); err != nil {
		t.Fatal(err)
	}

	// An upload and a report download, over REST.
	csv := "participant_id,first_name,last_name,email\nP1,Ada,Lovelace,ada@example.com\n"
	if code, _, body := st.rest(t, http.MethodPost, "/v1/accounts/acme/imports?importType=participants&fileName=p.csv",
		strings.NewReader(csv), http.Header{"Content-Type": {"text/csv"}}); code != http.StatusOK {
		t.Fatalf("upload: %d %s", code, body)
	}
	code, _, body := st.rest(t, http.MethodPost, "/v1/accounts/acme/reports",
		strings.NewReader(`{"reportType":"grants","parameters":{"as_of":"2026-01-31","rows":"5"}}`), nil)
	var rep struct{ Report struct{ ReportID string } }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &rep) != nil || rep.Report.ReportID == "" {
		t.Fatalf("create report: %d %s", code, body)
	}
	clock.Advance(time.Minute) // the sandbox finishes the report
	code, header, report := st.rest(t, http.MethodGet, "/v1/accounts/acme/reports/"+rep.Report.ReportID+":download", nil, nil)
	if code != http.StatusOK || header.Get("Content-Length") != strconv.Itoa(len(report)) {
		t.Fatalf("download: %d, %d bytes, Content-Length %s", code, len(report), header.Get("Content-Length"))
	}

	// EEO fails: a read is tried twice (one retry), both 503, and the
	// breaker (two failures) opens; the next call fails fast.
	st.sb.SetFaults(sandbox.Faults{API: sandbox.Fault{Status: http.StatusServiceUnavailable}})
	if _, err := files.GetReport(ctx, &eeov1.GetReportRequest{Account: "acme", ReportId: rep.Report.ReportID}); status.Code(err) != codes.Unavailable {
		t.Fatalf("GetReport with EEO answering 503: %v", err)
	}
	if _, err := files.GetReport(ctx, &eeov1.GetReportRequest{Account: "acme", ReportId: rep.Report.ReportID}); status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "not sending it requests") {
		t.Fatalf("GetReport with the breaker open: %v", err)
	}

	// Refused callers: no credentials, and an account outside the policy.
	if _, err := tokens.GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "acme"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("GetToken without credentials: %v", err)
	}
	if _, err := tokens.GetToken(ctx, &eeov1.GetTokenRequest{Account: "nope"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("GetToken on another account: %v", err)
	}

	after := scrape()
	acme := []string{"account", "acme"}
	with := func(extra ...string) []string { return append(append([]string{}, acme...), extra...) }
	for _, w := range []struct {
		s    series
		want float64
	}{
		// Token cache: GetToken cold + hit; every EEO call took the cached
		// token: the upload, the report's creation, the download's look at
		// the report and its content, and the two 503 attempts.
		{s("eeo_gateway_token_cache_misses_total", acme...), 1},
		{s("eeo_gateway_token_cache_hits_total", acme...), 1 + 6},
		{s("eeo_gateway_token_fetches_total", with("outcome", "success", "reason", "ok")...), 2},
		{s("eeo_gateway_token_fetches_total", with("outcome", "error", "reason", "unavailable")...), 0},
		{s("eeo_gateway_token_fetch_joins_total", acme...), 0},
		{s("eeo_gateway_token_invalidations_total", with("cause", "invalidate_token")...), 0},
		// Upstream: two token requests, the upload, the report's create and
		// download, two 503s and one retry; the breaker opened once.
		{s("eeo_gateway_upstream_requests_total", with("operation", "token", "status_class", "2xx")...), 2},
		{s("eeo_gateway_upstream_requests_total", with("operation", "create_import", "status_class", "2xx")...), 1},
		{s("eeo_gateway_upstream_requests_total", with("operation", "create_report", "status_class", "2xx")...), 1},
		{s("eeo_gateway_upstream_requests_total", with("operation", "download_report", "status_class", "2xx")...), 1},
		{s("eeo_gateway_upstream_requests_total", with("operation", "get_report", "status_class", "2xx")...), 1},
		{s("eeo_gateway_upstream_requests_total", with("operation", "get_report", "status_class", "5xx")...), 2},
		{s("eeo_gateway_upstream_request_duration_seconds", with("operation", "get_report")...), 3},
		{s("eeo_gateway_upstream_retries_total", with("operation", "get_report")...), 1},
		{s("eeo_gateway_upstream_breaker_transitions_total", with("to", "open")...), 1},
		{s("eeo_gateway_upstream_bytes_total", with("direction", "upload")...), float64(len(csv))},
		{s("eeo_gateway_upstream_bytes_total", with("direction", "download")...), float64(len(report))},
		{s("eeo_gateway_checksum_failures_total"), 0},
		// gRPC and REST.
		{s("grpc_server_handled_total", "grpc_method", "GetToken", "grpc_code", "OK"), 2},
		{s("grpc_server_handled_total", "grpc_method", "RefreshToken", "grpc_code", "OK"), 1},
		{s("grpc_server_handled_total", "grpc_method", "CreateImport", "grpc_code", "OK"), 1},
		{s("grpc_server_handled_total", "grpc_method", "DownloadReport", "grpc_code", "OK"), 1},
		{s("grpc_server_handled_total", "grpc_method", "GetReport", "grpc_code", "Unavailable"), 2},
		// The call without credentials is refused at its headers, before
		// any interceptor: the access metrics below count it, the
		// interceptor-based gRPC metrics never see it.
		{s("grpc_server_handled_total", "grpc_method", "GetToken", "grpc_code", "Unauthenticated"), 0},
		{s("grpc_server_handled_total", "grpc_method", "GetToken", "grpc_code", "PermissionDenied"), 1},
		{s("eeo_gateway_http_requests_total", "method", "POST", "route", "/v1/accounts/{account}/imports", "code", "200"), 1},
		{s("eeo_gateway_http_requests_total", "method", "POST", "route", "/v1/accounts/{account}/reports", "code", "200"), 1},
		{s("eeo_gateway_http_requests_total", "method", "GET", "route", "/v1/accounts/{account}/reports/{report_id}:download", "code", "200"), 1},
		// Access.
		{s("eeo_gateway_access_authentications_total", "method", "api_key", "outcome", "ok"), 9},
		{s("eeo_gateway_access_authentications_total", "method", "none", "outcome", "missing_credentials"), 1},
		{s("eeo_gateway_access_denials_total", "caller", "apikey:ops", "permission", "token:get"), 1},
	} {
		got := after.Get(w.s.name, w.s.labels...) - before.Get(w.s.name, w.s.labels...)
		if got != w.want {
			t.Errorf("%s%v moved by %v, want %v", w.s.name, w.s.labels, got, w.want)
		}
	}
	if v := after.Get("eeo_gateway_upstream_breaker_state", acme...); v != 2 {
		t.Errorf("breaker state = %v, want 2 (open)", v)
	}
	if v := after.Get("eeo_gateway_token_expiry_seconds", acme...); v <= 0 || v > 3600 {
		t.Errorf("seconds until the token's expiry = %v", v)
	}
	if v := after.Get("eeo_gateway_token_idle_deadline_seconds", acme...); v <= 0 || v > 3599 {
		t.Errorf("seconds until the token's idle deadline = %v", v)
	}
	if _, ok := after.Value("eeo_gateway_build_info"); !ok {
		t.Error("no eeo_gateway_build_info")
	}
	if _, ok := after.Value("eeo_gateway_request_id_log_entries"); !ok {
		t.Error("no eeo_gateway_request_id_log_entries")
	}

	lintMetrics(t, st.adminURL, "") // the whole exposition
	// No label value is a secret or a raw path.
	for name, fam := range after {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); strings.Contains(v, st.key) || strings.Contains(v, st.secret) || strings.Contains(v, rep.Report.ReportID) {
					t.Errorf("%s label %s=%q carries a secret or an id", name, l.GetName(), v)
				}
			}
		}
	}
}

// lintMetrics fails the test if the gateway's metrics whose names start
// with prefix ("" for all of them) fail promlint.
func lintMetrics(t *testing.T, adminURL, prefix string) {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	problems, err := promlint.New(resp.Body).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, prefix) {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}
