package e2e_test

import (
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// TestIdleRuleWithFakeTime proves the cache follows EEO's inactivity rule on
// the clock EEO uses: an unused token is replaced, a used one is kept.
func TestIdleRuleWithFakeTime(t *testing.T) {
	t.Run("idle token is replaced", func(t *testing.T) {
		clock := testkit.NewClock()
		s := newStack(t, stackOptions{Clock: clock})
		t1 := s.mustToken(t)
		clock.Advance(3599 * time.Second)
		t2 := s.mustToken(t)
		if t2.GetAccessToken() == t1.GetAccessToken() {
			t.Fatal("GetToken after 3599s idle returned the idle token")
		}
		s.wantTokenRequests(t, 2)
		if code := s.whoami(t, t1.GetAccessToken()); code != 401 {
			t.Errorf("EEO accepted the idle token (HTTP %d); the test's premise is wrong", code)
		}
		if code := s.whoami(t, t2.GetAccessToken()); code != 200 {
			t.Errorf("EEO rejected the replacement token: HTTP %d", code)
		}
	})

	t.Run("token in use is kept for hours", func(t *testing.T) {
		clock := testkit.NewClock()
		// expires_in omitted: only the idle rule and MaxLifetime bound the token.
		s := newStack(t, stackOptions{Clock: clock, Sandbox: sandbox.Options{ExpiresIn: -1}})
		first := s.mustToken(t)
		if got, want := first.GetExpireTime().AsTime().Sub(first.GetIssueTime().AsTime()), auth.DefaultMaxLifetime; got != want {
			t.Errorf("lifetime without expires_in = %v, want MaxLifetime %v", got, want)
		}
		// The caller uses each token it gets, as real callers do: EEO slides
		// its idle window only on protected requests, never on a GetToken, so
		// a token fetched and left unused for 5h is dead upstream whatever
		// the cache thinks (the cache counts a hand-out as a use).
		use := first.GetAccessToken()
		for elapsed := 3000 * time.Second; elapsed <= 5*time.Hour; elapsed += 3000 * time.Second {
			if code := s.whoami(t, use); code != 200 {
				t.Fatalf("after %v, EEO rejected the token the cache served: HTTP %d", elapsed-3000*time.Second, code)
			}
			clock.Advance(3000 * time.Second)
			tok := s.mustToken(t)
			if tok.GetAccessToken() != first.GetAccessToken() {
				t.Fatalf("after %v of use every 3000s, GetToken returned a new token", elapsed)
			}
			use = tok.GetAccessToken()
		}
		s.wantTokenRequests(t, 1)
		if code := s.whoami(t, use); code != 200 {
			t.Errorf("after 5h, EEO rejected the token the cache still serves: HTTP %d", code)
		}
	})
}
