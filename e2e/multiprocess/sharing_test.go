package multiprocess_test

import (
	"testing"
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
