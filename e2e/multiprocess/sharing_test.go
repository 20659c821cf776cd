package multiprocess_test

import (
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// Three replicas sharing Redis, in front of an EEO that keeps one active
// token per client: 3000 concurrent GetToken calls spread over them make
// exactly one token request upstream, and a mixed import/report load
// afterwards meets no 401, because every replica uses the one token.
func TestReplicasSharingRedisFetchOneTokenAndMeetNo401(t *testing.T) {
	t.Parallel()
	c := newCluster(t, clusterOptions{Replicas: stormReplicas, Redis: true, OneActiveToken: true})
	// Token latency only shapes the load: every replica's callers arrive
	// while the first fetch is still out.
	c.sandbox.setFaults(t, faults{Token: fault{Latency: "100ms"}})
	if n, err := c.tokenStorm(t.Context(), stormPerReplica); n != 0 {
		t.Fatalf("%d of %d GetToken calls failed, e.g. %v", n, stormReplicas*stormPerReplica, err)
	}
	c.sandbox.setFaults(t, faults{})
	if st := c.sandbox.stats(t); st.TokenRequests != 1 || st.TokensIssued != 1 {
		t.Fatalf("after %d GetToken calls on %d replicas: %s; want exactly 1 token request", stormReplicas*stormPerReplica, stormReplicas, statsLine(st))
	}

	calls, errs := c.mixedLoad(t.Context(), "shared", stormRounds)
	noErrors(t, "mixed load", calls, errs)
	st := c.sandbox.stats(t)
	t.Logf("after the mixed load: %s", statsLine(st))
	if st.RejectedTokens != 0 || st.TokenRequests != 1 || st.TokensRevoked != 0 {
		t.Errorf("mixed load over replicas sharing one token: %s; want no 401, no further token request, nothing revoked", statsLine(st))
	}
}

// A refresh on one replica (RefreshToken, or a 401 there) reaches every
// replica instead of each fetching its own: against an EEO that keeps one
// active token, the refreshed token revokes the old one, and the other
// replicas must switch to the new token rather than meet 401s and fetch
// again (which would revoke it in turn). A late report of the old token
// (InvalidateToken with its fingerprint, as a caller that met a 401 with
// it sends) on any replica keeps the newer token.
func TestRefreshOnOneReplicaReachesAllWithoutAStorm(t *testing.T) {
	t.Parallel()
	c := newCluster(t, clusterOptions{Replicas: 3, Redis: true, OneActiveToken: true})
	old := c.tokenFingerprints(t, 20)
	if len(old) != 1 || c.sandbox.stats(t).TokenRequests != 1 {
		t.Fatalf("before the refresh: %d tokens handed out, %s; want 1 shared token", len(old), statsLine(c.sandbox.stats(t)))
	}
	resp, err := c.gateways[0].tokens.RefreshToken(t.Context(), &eeov1.RefreshTokenRequest{Account: account})
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	fresh := resp.GetToken().GetFingerprint()
	if old[fresh] {
		t.Fatalf("RefreshToken returned the token it was to replace")
	}
	refreshed := time.Now()
	c.eventually("every replica handing out the refreshed token", func() bool {
		fps := c.tokenFingerprints(t, 1)
		return len(fps) == 1 && fps[fresh]
	})
	t.Logf("every replica handed out the refreshed token %v after RefreshToken returned", time.Since(refreshed))

	for oldFP := range old {
		for _, g := range c.gateways[1:] {
			r, err := g.tokens.InvalidateToken(t.Context(), &eeov1.InvalidateTokenRequest{Account: account, Fingerprint: oldFP})
			if err != nil || r.GetInvalidated() {
				t.Errorf("InvalidateToken of the old token on gateway-%d: invalidated=%v, %v; want false (the refreshed token stays)", g.index, r.GetInvalidated(), err)
			}
		}
	}
	if fps := c.tokenFingerprints(t, 20); len(fps) != 1 || !fps[fresh] {
		t.Errorf("after a late report of the old token, the replicas hand out %d tokens; want only the refreshed one", len(fps))
	}
	calls, errs := c.mixedLoad(t.Context(), "refreshed", 2)
	noErrors(t, "mixed load after the refresh", calls, errs)
	if st := c.sandbox.stats(t); st.TokenRequests != 2 || st.RejectedTokens != 0 {
		t.Errorf("after a refresh on one replica and a load on all: %s; want 2 token requests (the first and the refresh) and no 401", statsLine(st))
	}
}
