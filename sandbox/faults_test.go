package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

var goodClient = &sandbox.Client{ID: testID, Secret: testSecret}

func TestFaultStatus(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	tok := issue(t, ts)
	sb.SetFaults(sandbox.Faults{
		Token: sandbox.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond},
		API:   sandbox.Fault{Status: http.StatusServiceUnavailable},
	})

	res := send(t, ts, tokenReq(t, ts, grant, goodClient))
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") != "2" {
		t.Errorf("token: %d Retry-After %q, want 429 and 2 (rounded up)", res.status, res.header.Get("Retry-After"))
	}
	if res.field(t, "error") != "too_many_requests" || res.field(t, "error_description") != "sandbox fault" {
		t.Errorf("token body = %s", res.body)
	}

	res = whoami(t, ts, tok)
	if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") != "" {
		t.Errorf("api: %d Retry-After %q, want 503 without Retry-After", res.status, res.header.Get("Retry-After"))
	}

	st := sb.Stats()
	if st.TokenRequests != 2 || st.TokensIssued != 1 || st.APIRequests != 1 || st.RejectedTokens != 0 {
		t.Errorf("stats = %+v: faulted requests count as requests, not rejections", st)
	}

	sb.SetFaults(sandbox.Faults{})
	if res := whoami(t, ts, tok); res.status != http.StatusOK {
		t.Errorf("after clearing faults: %d, want 200", res.status)
	}
}

func TestFaultMalformed(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	tok := issue(t, ts)
	sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Malformed: true}, API: sandbox.Fault{Malformed: true}})
	for name, res := range map[string]result{
		"token": send(t, ts, tokenReq(t, ts, grant, goodClient)),
		"api":   whoami(t, ts, tok),
	} {
		if res.status != http.StatusOK || json.Valid(res.body) {
			t.Errorf("%s: %d %q, want 200 with invalid JSON", name, res.status, res.body)
		}
	}
	if got := sb.Stats().TokensIssued; got != 1 {
		t.Errorf("TokensIssued = %d, want 1: a malformed answer issues nothing", got)
	}
}

func TestFaultFailureRate(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	for _, tt := range []struct {
		rate float64
		want int
	}{{1, http.StatusServiceUnavailable}, {0, http.StatusOK}} {
		sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{FailureRate: tt.rate}})
		for range 20 {
			if res := send(t, ts, tokenReq(t, ts, grant, goodClient)); res.status != tt.want {
				t.Fatalf("FailureRate %v: status %d, want %d", tt.rate, res.status, tt.want)
			}
		}
	}
	if st := sb.Stats(); st.TokenRequests != 40 || st.TokensIssued != 20 {
		t.Errorf("stats = %+v, want 40 requests, 20 issued", st)
	}
}

// tokenRecorderReq is a token request for calling ServeHTTP directly.
func tokenRecorderReq(ctx context.Context) *http.Request {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/oauth2/token", strings.NewReader(grant.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(testID), url.QueryEscape(testSecret))
	return req
}

func TestFaultLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb := sandbox.New(sandbox.Options{Clients: []sandbox.Client{*goodClient}})
		sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Latency: 250 * time.Millisecond}})
		rec := httptest.NewRecorder()
		begin := time.Now()
		sb.ServeHTTP(rec, tokenRecorderReq(t.Context()))
		if took := time.Since(begin); took != 250*time.Millisecond {
			t.Errorf("answered after %v, want exactly 250ms", took)
		}
		if rec.Code != http.StatusOK {
			t.Errorf("status %d, want 200 after the delay", rec.Code)
		}
	})
}

func TestFaultLatencyAbortsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb := sandbox.New(sandbox.Options{Clients: []sandbox.Client{*goodClient}})
		sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Latency: time.Hour}})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		begin := time.Now()
		sb.ServeHTTP(rec, tokenRecorderReq(ctx))
		if took := time.Since(begin); took != time.Second {
			t.Errorf("answered after %v, want 1s (when the request context ended)", took)
		}
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503 for an abandoned request", rec.Code)
		}
		if got := sb.Stats().TokensIssued; got != 0 {
			t.Errorf("TokensIssued = %d, want 0", got)
		}
	})
}
