package multiprocess_test

import (
	"testing"
)

const (
	stormReplicas   = 3
	stormPerReplica = 1000
	stormRounds     = 4
)

// A deployment of replicas without Redis shows why the Redis backend
// exists (the in-process version is e2e's
// TestReplicasRevokeEachOthersTokensWithOneActiveToken): every replica
// fetches a token of its own, each issue revokes the one before, and the
// mixed load meets 401s, each answered by a refetch that revokes again.
func TestReplicasWithoutRedisStormOneActiveTokenUpstream(t *testing.T) {
	t.Parallel()
	c := newCluster(t, clusterOptions{Replicas: stormReplicas, OneActiveToken: true})
	c.sandbox.setFaults(t, faults{Token: fault{Latency: "100ms"}})
	if n, err := c.tokenStorm(t.Context(), stormPerReplica); n != 0 {
		t.Fatalf("%d of %d GetToken calls failed, e.g. %v", n, stormReplicas*stormPerReplica, err)
	}
	c.sandbox.setFaults(t, faults{})
	// Each replica coalesces its own callers, but nothing coalesces the
	// replicas.
	first := c.sandbox.stats(t)
	if first.TokenRequests != stormReplicas || first.TokensRevoked != stormReplicas-1 {
		t.Fatalf("after GetToken without Redis: %s; want %d token requests and %d revoked", statsLine(first), stormReplicas, stormReplicas-1)
	}

	// The load's calls succeed (each replica answers its 401 with a
	// refetch and a retry where it may), but upstream sees the storm.
	calls, errs := c.mixedLoad(t.Context(), "storm", stormRounds)
	end := c.sandbox.stats(t)
	t.Logf("mixed load without Redis: %d calls, %d failed; %s", calls, len(errs), statsLine(end))
	if end.RejectedTokens < stormReplicas-1 {
		t.Errorf("upstream answered %d requests 401, want at least %d (one per replica whose token was revoked)", end.RejectedTokens, stormReplicas-1)
	}
	if end.TokenRequests <= first.TokenRequests || end.TokensRevoked <= first.TokensRevoked {
		t.Errorf("token requests %d→%d, revoked %d→%d during the load: want both to grow (refetches revoking each other)",
			first.TokenRequests, end.TokenRequests, first.TokensRevoked, end.TokensRevoked)
	}
}
