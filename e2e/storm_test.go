package e2e_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// TestReplicasRevokeEachOthersTokensWithOneActiveToken documents why the
// Redis backend of issue 14 exists: against an upstream that keeps one
// active token per client, replicas whose token caches are separate each
// fetch their own token, every fetch revokes the others' tokens, and a
// mixed load across the replicas meets upstream 401s (each answered by a
// new fetch, which revokes again) — the storm. When the caches share
// one token through Redis, the same scenario must see one token request
// and no 401.
func TestReplicasRevokeEachOthersTokensWithOneActiveToken(t *testing.T) {
	const nReplicas = 3
	replicas := newReplicas(t, stackOptions{Sandbox: sandbox.Options{
		OneActiveToken: true,
		StepDuration:   10 * time.Millisecond,
	}}, nReplicas)
	sb := replicas[0].sb
	// Real latency only shapes the load so the calls on a replica overlap
	// its fetch.
	sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Latency: 100 * time.Millisecond}})

	const perReplica = 1000
	start := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, r := range replicas {
		for range perReplica {
			wg.Go(func() {
				<-start
				if _, err := r.getToken(t.Context()); err != nil {
					failed.Add(1)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	sb.SetFaults(sandbox.Faults{})
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d GetToken calls failed", n, nReplicas*perReplica)
	}
	// Each replica coalesces its own callers, but nothing coalesces the
	// replicas: one fetch each, and each issuance revoked the token before.
	st := sb.Stats()
	if st.TokenRequests != nReplicas || st.TokensIssued != nReplicas || st.TokensRevoked != nReplicas-1 {
		t.Fatalf("after GetToken: %d token requests, %d issued, %d revoked; want %d, %d, %d",
			st.TokenRequests, st.TokensIssued, st.TokensRevoked, nReplicas, nReplicas, nReplicas-1)
	}

	// Mixed import/report load, spread over the replicas.
	const rounds = 4
	var calls, callErrs atomic.Int64
	for i, r := range replicas {
		for w := range 2 {
			wg.Go(func() {
				for n := range rounds {
					id := fmt.Sprintf("storm-%d-%d-%d", i, w, n)
					var err error
					if w == 0 {
						_, err = r.upload(t.Context(), &eeov1.ImportMetadata{ImportType: "participants", FileName: id + ".csv", RequestId: id},
							participantsFile(256, id), 1<<20)
					} else {
						_, err = r.files.CreateReport(t.Context(), &eeov1.CreateReportRequest{
							Account: account, ReportType: "participants", RequestId: id,
						})
					}
					calls.Add(1)
					if err != nil {
						callErrs.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()

	end := sb.Stats()
	t.Logf("load: %d calls, %d failed; upstream: %d token requests, %d revoked, %d 401s",
		calls.Load(), callErrs.Load(), end.TokenRequests, end.TokensRevoked, end.RejectedTokens)
	// At least the replicas holding a revoked token meet a 401 on their
	// first call, and each answers it with a fetch of its own.
	if end.RejectedTokens < nReplicas-1 {
		t.Errorf("upstream answered %d requests 401, want at least %d (one per replica whose token was revoked)", end.RejectedTokens, nReplicas-1)
	}
	if end.TokenRequests <= st.TokenRequests || end.TokensRevoked <= st.TokensRevoked {
		t.Errorf("token requests %d→%d, revoked %d→%d during the load: want both to grow (refetches revoking each other)",
			st.TokenRequests, end.TokenRequests, st.TokensRevoked, end.TokensRevoked)
	}
}
