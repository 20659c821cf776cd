package e2e_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestTokenEndpointDownBacksOffAndRecovers proves that an EEO outage gives
// callers UNAVAILABLE with a retry hint, costs EEO one request per backoff
// step rather than one per caller, and heals by itself.
func TestTokenEndpointDownBacksOffAndRecovers(t *testing.T) {
	clock := testkit.NewClock()
	s := newStack(t, stackOptions{Clock: clock, Cache: auth.Options{BackoffInitial: time.Second, BackoffMax: 8 * time.Second}})
	s.sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Status: http.StatusServiceUnavailable}})

	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = s.getToken(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("call %d: got %v, want Unavailable", i, err)
		}
		if r := testkit.ErrorInfo(t, err).GetReason(); r != server.ReasonEEOUnavailable {
			t.Fatalf("call %d: reason %q, want %q", i, r, server.ReasonEEOUnavailable)
		}
		ri := testkit.RetryInfo(err)
		if ri == nil {
			t.Fatalf("call %d: no RetryInfo in %v", i, err)
		}
		// First backoff step: 1s ±50% jitter, and never less than 1s.
		if d := ri.GetRetryDelay().AsDuration(); d < time.Second || d > 2*time.Second {
			t.Errorf("call %d: retry delay %v, want within the first backoff step [1s, 2s]", i, d)
		}
	}
	s.wantTokenRequests(t, 1)

	code, hdr, body := s.rest(t, http.MethodGet, "/v1/accounts/"+account+"/token")
	if code != http.StatusServiceUnavailable {
		t.Errorf("REST during outage: HTTP %d, want 503 (body %s)", code, body)
	}
	if secs, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || secs < 1 || secs > 2 {
		t.Errorf("REST Retry-After = %q, want whole seconds in [1, 2]", hdr.Get("Retry-After"))
	}
	if r := restErrorDetail(t, body)["reason"]; r != server.ReasonEEOUnavailable {
		t.Errorf("REST reason %v, want %s", r, server.ReasonEEOUnavailable)
	}
	s.wantTokenRequests(t, 1)

	s.sb.SetFaults(sandbox.Faults{})
	clock.Advance(10 * time.Second)
	tok := s.mustToken(t)
	if code := s.whoami(t, tok.GetAccessToken()); code != 200 {
		t.Errorf("token after recovery rejected by EEO: HTTP %d", code)
	}
	s.wantTokenRequests(t, 2)
}

// TestInvalidClientIsFailedPrecondition proves that a wrong configured secret
// is reported as the gateway's configuration problem, not the caller's
// credentials, and is never echoed.
func TestInvalidClientIsFailedPrecondition(t *testing.T) {
	s := newStack(t, stackOptions{WrongSecret: true})
	wrong := s.presentedSecret

	_, err := s.getToken(t.Context())
	if c := status.Code(err); c != codes.FailedPrecondition {
		t.Fatalf("got %v (code %v), want FailedPrecondition (never Unauthenticated)", err, c)
	}
	if r := testkit.ErrorInfo(t, err).GetReason(); r != server.ReasonEEOInvalidClient {
		t.Errorf("reason %q, want %q", r, server.ReasonEEOInvalidClient)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Error("gRPC error message contains the configured secret")
	}

	code, _, body := s.rest(t, http.MethodGet, "/v1/accounts/"+account+"/token")
	if code != http.StatusBadRequest {
		t.Errorf("REST: HTTP %d, want 400 (body %s)", code, body)
	}
	if r := restErrorDetail(t, body)["reason"]; r != server.ReasonEEOInvalidClient {
		t.Errorf("REST reason %v, want %s", r, server.ReasonEEOInvalidClient)
	}
	if strings.Contains(string(body), wrong) {
		t.Error("REST error body contains the configured secret")
	}
	if strings.Contains(allLogs(), wrong) {
		t.Error("logs contain the configured secret")
	}
	if n := s.sb.Stats().TokenRequestsByClient[clientID]; n < 1 {
		t.Errorf("sandbox saw %d token requests from %s; the secret was never presented", n, clientID)
	}
}

// TestMalformedTokenResponse proves a garbled 200 from EEO is a retryable
// upstream failure with its own reason, not a token.
func TestMalformedTokenResponse(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Malformed: true}})
	_, err := s.getToken(t.Context())
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v, want Unavailable", err)
	}
	if r := testkit.ErrorInfo(t, err).GetReason(); r != server.ReasonEEOMalformedResponse {
		t.Errorf("reason %q, want %q", r, server.ReasonEEOMalformedResponse)
	}
	if testkit.RetryInfo(err) == nil {
		t.Errorf("no RetryInfo in %v", err)
	}
	s.wantTokenRequests(t, 1)
}
