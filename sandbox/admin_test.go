package sandbox_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

func putFaults(t *testing.T, ts *httptest.Server, body string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, ts.URL+"/sandbox/faults", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return send(t, ts, req)
}

func TestAdminFaultsRoundTrip(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	res := putFaults(t, ts, `{
		"token": {"latency": "250ms", "status": 503, "retry_after": "2s", "failure_rate": 0.25},
		"api":   {"malformed": true}
	}`)
	if res.status != http.StatusOK {
		t.Fatalf("PUT: %d %s", res.status, res.body)
	}
	want := sandbox.Faults{
		Token: sandbox.Fault{Latency: 250 * time.Millisecond, Status: 503, RetryAfter: 2 * time.Second, FailureRate: 0.25},
		API:   sandbox.Fault{Malformed: true},
	}
	if got := sb.Faults(); got != want {
		t.Fatalf("Faults() = %+v, want %+v", got, want)
	}

	res = get(t, ts, "/sandbox/faults")
	token, _ := res.field(t, "token").(map[string]any)
	if res.status != http.StatusOK || token["latency"] != "250ms" || token["retry_after"] != "2s" || token["status"] != 503.0 {
		t.Errorf("GET: %d %s", res.status, res.body)
	}

	if res := putFaults(t, ts, `{}`); res.status != http.StatusOK || sb.Faults() != (sandbox.Faults{}) {
		t.Errorf("PUT {} must clear all faults: %d, %+v", res.status, sb.Faults())
	}
}

func TestAdminFaultsBadRequest(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	before := sandbox.Faults{API: sandbox.Fault{Status: 500}}
	sb.SetFaults(before)
	for _, body := range []string{
		`{`,
		`not json`,
		`{"token": {"latency": "soon"}}`,
		`{"token": {"latency": 250}}`,
		`{"token": {"latncy": "1s"}}`,
		`{"api": {"failure_rate": 2}}`,
		`{"api": {"status": 42}}`,
		`{"api": {"retry_after": "-1s"}}`,
	} {
		res := putFaults(t, ts, body)
		if res.status != http.StatusBadRequest || res.field(t, "error") != "invalid_request" {
			t.Errorf("PUT %s: %d %s, want 400 invalid_request", body, res.status, res.body)
		}
	}
	if sb.Faults() != before {
		t.Errorf("rejected PUTs changed faults to %+v", sb.Faults())
	}
	req, _ := http.NewRequest(http.MethodDelete, ts.URL+"/sandbox/faults", nil)
	if res := send(t, ts, req); res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != "GET, PUT" {
		t.Errorf("DELETE: %d Allow %q, want 405 GET, PUT", res.status, res.header.Get("Allow"))
	}
}

func TestStats(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	tok := issue(t, ts)
	issue(t, ts)
	send(t, ts, tokenReq(t, ts, grant, &sandbox.Client{ID: testID, Secret: "wrong"}))
	send(t, ts, tokenReq(t, ts, grant, &sandbox.Client{ID: "stranger", Secret: "x"}))
	sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Status: 500}})
	send(t, ts, tokenReq(t, ts, grant, goodClient))
	sb.SetFaults(sandbox.Faults{})
	whoami(t, ts, tok)
	whoami(t, ts, "")

	want := sandbox.Stats{
		TokenRequests:  5,
		TokensIssued:   2,
		APIRequests:    2,
		RejectedTokens: 1,
		// The wrong-secret and faulted requests count; the unknown ID does not.
		TokenRequestsByClient: map[string]int64{testID: 4},
	}
	got := sb.Stats()
	recent := got.Recent
	got.Recent = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Stats() = %+v, want %+v", got, want)
	}
	if len(recent) != 7 || recent[0].Path != "/oauth2/token" || recent[6].Method != "GET" || recent[6].Path != "/v1/whoami" {
		t.Errorf("Recent = %+v, want the 5 token requests then 2 whoami", recent)
	}
	got.TokenRequestsByClient[testID] = 99
	if sb.Stats().TokenRequestsByClient[testID] != 4 {
		t.Errorf("Stats must return a copy")
	}

	res := get(t, ts, "/sandbox/stats")
	byClient, _ := res.field(t, "token_requests_by_client").(map[string]any)
	if res.status != http.StatusOK || res.field(t, "token_requests") != 5.0 ||
		res.field(t, "tokens_issued") != 2.0 || res.field(t, "api_requests") != 2.0 ||
		res.field(t, "rejected_tokens") != 1.0 || byClient[testID] != 4.0 {
		t.Errorf("GET /sandbox/stats: %d %s", res.status, res.body)
	}
}

func TestAdminNeverFaulted(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	bad := sandbox.Fault{Status: 500, Malformed: true, FailureRate: 1}
	sb.SetFaults(sandbox.Faults{Token: bad, API: bad})
	for _, path := range []string{"/sandbox/stats", "/sandbox/faults"} {
		if res := get(t, ts, path); res.status != http.StatusOK {
			t.Errorf("GET %s under faults: %d, want 200", path, res.status)
		}
	}
	if res := putFaults(t, ts, `{}`); res.status != http.StatusOK {
		t.Errorf("PUT under faults: %d, want 200", res.status)
	}
}

func TestStatsRecentKeepsTracingHeadersBounded(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	for i := range 300 {
		req := httptest.NewRequest(http.MethodGet, "/v1/whoami", nil)
		req.Header.Set("X-Request-Id", fmt.Sprintf("req-%d", i))
		req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		sb.ServeHTTP(httptest.NewRecorder(), req)
	}
	recent := sb.Stats().Recent
	if len(recent) != 256 || recent[0].RequestID != "req-44" || recent[255].RequestID != "req-299" ||
		recent[255].Traceparent != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Fatalf("Recent: %d entries, first %+v, last %+v", len(recent), recent[0], recent[len(recent)-1])
	}
}
