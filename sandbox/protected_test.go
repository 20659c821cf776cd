package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

const idle = 3599 * time.Second

func TestWhoami(t *testing.T) {
	_, ts := start(t, sandbox.Options{})
	res := whoami(t, ts, issue(t, ts))
	if res.status != http.StatusOK {
		t.Fatalf("status %d, body %s", res.status, res.body)
	}
	if got := res.field(t, "client_id"); got != testID {
		t.Errorf("client_id = %v, want %s", got, testID)
	}
	if got := res.field(t, "idle_timeout_seconds"); got != 3599.0 {
		t.Errorf("idle_timeout_seconds = %v, want 3599", got)
	}
}

func TestWhoamiRejects(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	valid := issue(t, ts)
	tests := map[string]string{
		"missing":      "",
		"wrong scheme": "Basic " + valid,
		"empty bearer": "Bearer ",
		"unknown":      "Bearer eeosbx_notatoken",
	}
	for name, auth := range tests {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/whoami", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		assertInvalidToken(t, name, send(t, ts, req))
	}
	if st := sb.Stats(); st.APIRequests != 4 || st.RejectedTokens != 4 {
		t.Errorf("stats = %+v, want 4 API requests, 4 rejected", st)
	}
}

func assertInvalidToken(t *testing.T, name string, res result) {
	t.Helper()
	if res.status != http.StatusUnauthorized || res.field(t, "error") != "invalid_token" {
		t.Errorf("%s: got %d %s, want 401 invalid_token", name, res.status, res.body)
	}
	if got := res.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
		t.Errorf("%s: WWW-Authenticate = %q", name, got)
	}
}

func TestWhoamiMethodNotAllowed(t *testing.T) {
	_, ts := start(t, sandbox.Options{})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+issue(t, ts))
	if res := send(t, ts, req); res.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST = %d, want 405", res.status)
	}
}

// clocked starts a sandbox on a fake clock and issues one token at its start.
func clocked(t *testing.T, opts sandbox.Options) (*testkit.Clock, *httptest.Server, string) {
	t.Helper()
	clk := testkit.NewClock()
	opts.Now = clk.Now
	_, ts := start(t, opts)
	return clk, ts, issue(t, ts)
}

func TestIdleBoundary(t *testing.T) {
	t.Run("just before", func(t *testing.T) {
		clk, ts, tok := clocked(t, sandbox.Options{})
		clk.Advance(idle - time.Nanosecond)
		if res := whoami(t, ts, tok); res.status != http.StatusOK {
			t.Fatalf("at idle-1ns: %d, want 200", res.status)
		}
	})
	t.Run("exactly at", func(t *testing.T) {
		clk, ts, tok := clocked(t, sandbox.Options{})
		clk.Advance(idle)
		assertInvalidToken(t, "at idle", whoami(t, ts, tok))
	})
	t.Run("custom", func(t *testing.T) {
		clk, ts, tok := clocked(t, sandbox.Options{IdleTimeout: time.Minute})
		clk.Advance(time.Minute - time.Nanosecond)
		if res := whoami(t, ts, tok); res.status != http.StatusOK {
			t.Fatalf("at 1m-1ns: %d, want 200", res.status)
		}
		clk.Advance(time.Minute)
		assertInvalidToken(t, "a minute after use", whoami(t, ts, tok))
	})
}

func TestIdleSliding(t *testing.T) {
	clk, ts, tok := clocked(t, sandbox.Options{})
	for _, at := range []string{"3000s", "6000s"} {
		clk.Advance(3000 * time.Second)
		if res := whoami(t, ts, tok); res.status != http.StatusOK {
			t.Fatalf("use at %s: %d, want 200 (each use slides the idle window)", at, res.status)
		}
	}
	clk.Advance(idle)
	assertInvalidToken(t, "idle after last use", whoami(t, ts, tok))
	clk.Advance(-idle) // even back in the window, an inactive token stays gone
	assertInvalidToken(t, "after deletion", whoami(t, ts, tok))
}

func TestRejectedRequestsDoNotSlide(t *testing.T) {
	clk, ts, tok := clocked(t, sandbox.Options{})
	clk.Advance(idle - time.Second)
	whoami(t, ts, "eeosbx_other") // a rejected request must not touch tok
	clk.Advance(time.Second)
	assertInvalidToken(t, "idle", whoami(t, ts, tok))
}

func TestLifetime(t *testing.T) {
	clk, ts, tok := clocked(t, sandbox.Options{Lifetime: 5000 * time.Second})
	for _, step := range []time.Duration{3000 * time.Second, 1999*time.Second + 999*time.Millisecond} {
		clk.Advance(step)
		if res := whoami(t, ts, tok); res.status != http.StatusOK {
			t.Fatalf("before lifetime: %d, want 200", res.status)
		}
	}
	clk.Advance(time.Millisecond) // exactly 5000s after issuance, though recently used
	assertInvalidToken(t, "at lifetime", whoami(t, ts, tok))
}

func TestRevokeAllAndIssuedTokens(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	a, b := issue(t, ts), issue(t, ts)
	sb.RevokeAll()
	assertInvalidToken(t, "revoked a", whoami(t, ts, a))
	assertInvalidToken(t, "revoked b", whoami(t, ts, b))
	c := issue(t, ts)
	if res := whoami(t, ts, c); res.status != http.StatusOK {
		t.Fatalf("token issued after RevokeAll: %d, want 200", res.status)
	}
	got := sb.IssuedTokens()
	if !slices.Equal(got, []string{a, b, c}) {
		t.Errorf("IssuedTokens = %v, want [a b c] in order", got)
	}
	got[0] = "mutated"
	if sb.IssuedTokens()[0] != a {
		t.Errorf("IssuedTokens must return a copy")
	}
}
