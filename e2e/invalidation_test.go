package e2e_test

import (
	"encoding/json"
	"net/http"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

func (s *stack) invalidate(t *testing.T, fingerprint string) bool {
	t.Helper()
	resp, err := s.tokens.InvalidateToken(t.Context(), &eeov1.InvalidateTokenRequest{Account: account, Fingerprint: fingerprint})
	if err != nil {
		t.Fatalf("InvalidateToken: %v", err)
	}
	return resp.GetInvalidated()
}

// TestLate401DoesNotDiscardNewerToken proves that a caller reporting a token
// that has already been replaced cannot throw away its replacement, while a
// report naming the current token does replace it (over REST too).
func TestLate401DoesNotDiscardNewerToken(t *testing.T) {
	s := newStack(t, stackOptions{})
	t1 := s.mustToken(t)
	refreshed, err := s.tokens.RefreshToken(t.Context(), &eeov1.RefreshTokenRequest{Account: account})
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	t2 := refreshed.GetToken()
	if t2.GetAccessToken() == t1.GetAccessToken() || t2.GetFingerprint() == t1.GetFingerprint() {
		t.Fatal("RefreshToken returned the token it should replace")
	}
	if s.invalidate(t, t1.GetFingerprint()) {
		t.Error("InvalidateToken with the stale token's fingerprint reported invalidated=true")
	}
	if got := s.mustToken(t); got.GetAccessToken() != t2.GetAccessToken() {
		t.Error("a late report about the stale token discarded the newer token")
	}
	s.wantTokenRequests(t, 2)

	code, _, body := s.rest(t, http.MethodDelete, "/v1/accounts/"+account+"/token?fingerprint="+t2.GetFingerprint())
	var out struct {
		Invalidated bool `json:"invalidated"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &out) != nil || !out.Invalidated {
		t.Fatalf("REST DELETE with the current fingerprint: HTTP %d, body %s; want 200 invalidated=true", code, body)
	}
	t3 := s.mustToken(t)
	if t3.GetAccessToken() == t2.GetAccessToken() || t3.GetAccessToken() == t1.GetAccessToken() {
		t.Error("GetToken after invalidating the current token returned an old token")
	}
	s.wantTokenRequests(t, 3)
}

// TestTokenRevokedUpstreamIsReplacedAfterInvalidate proves the recovery path
// for a token EEO stopped accepting: report it, and the next GetToken brings
// one EEO accepts.
func TestTokenRevokedUpstreamIsReplacedAfterInvalidate(t *testing.T) {
	s := newStack(t, stackOptions{})
	old := s.mustToken(t)
	if code := s.whoami(t, old.GetAccessToken()); code != 200 {
		t.Fatalf("fresh token rejected by EEO: HTTP %d", code)
	}
	s.sb.RevokeAll()
	if code := s.whoami(t, old.GetAccessToken()); code != 401 {
		t.Fatalf("revoked token: HTTP %d, want 401", code)
	}
	if !s.invalidate(t, old.GetFingerprint()) {
		t.Fatal("InvalidateToken with the revoked token's fingerprint reported invalidated=false")
	}
	fresh := s.mustToken(t)
	if fresh.GetAccessToken() == old.GetAccessToken() {
		t.Fatal("GetToken after invalidation returned the revoked token")
	}
	if code := s.whoami(t, fresh.GetAccessToken()); code != 200 {
		t.Errorf("replacement token rejected by EEO: HTTP %d", code)
	}
	s.wantTokenRequests(t, 2)
}
