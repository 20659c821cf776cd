package e2e_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestColdCache1000ConcurrentGetTokenOneUpstreamRequest proves that callers
// arriving together on a cold cache share one token request to EEO.
func TestColdCache1000ConcurrentGetTokenOneUpstreamRequest(t *testing.T) {
	s := newStack(t, stackOptions{})
	// Real latency only shapes the load so the calls overlap the fetch.
	s.sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Latency: 200 * time.Millisecond}})

	const n = 1000
	start := make(chan struct{})
	tokens, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			tok, err := s.getToken(t.Context())
			tokens[i], errs[i] = tok.GetAccessToken(), err
		})
	}
	close(start)
	wg.Wait()

	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if tokens[i] == "" || tokens[i] != tokens[0] {
			t.Fatalf("call %d got a different (or empty) token than call 0", i)
		}
	}
	s.wantTokenRequests(t, 1)
	if code := s.whoami(t, tokens[0]); code != 200 {
		t.Errorf("shared token rejected by EEO: HTTP %d", code)
	}
}

// TestCancelledLeaderDoesNotFailOthers proves that the caller whose call
// started the fetch can give up without failing the fetch for the others.
func TestCancelledLeaderDoesNotFailOthers(t *testing.T) {
	s := newStack(t, stackOptions{})
	// Long enough that the leader's cancellation lands while EEO is still
	// answering; asserted below rather than assumed.
	s.sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Latency: time.Second}})

	leaderCtx, cancelLeader := context.WithCancel(t.Context())
	defer cancelLeader()
	leaderErr := make(chan error, 1)
	go func() {
		_, err := s.getToken(leaderCtx)
		leaderErr <- err
	}()
	waitFor(t, "the sandbox to receive the leader's token request", func() bool { return s.tokenRequests() >= 1 })

	const followers = 20
	tokens, errs := make([]string, followers), make([]error, followers)
	var wg sync.WaitGroup
	for i := range followers {
		wg.Go(func() {
			tok, err := s.getToken(t.Context())
			tokens[i], errs[i] = tok.GetAccessToken(), err
		})
	}
	cancelLeader()
	if err := <-leaderErr; status.Code(err) != codes.Canceled {
		t.Fatalf("leader: got %v, want Canceled", err)
	}
	if issued := s.sb.Stats().TokensIssued; issued != 0 {
		t.Fatalf("test setup: the fetch finished (%d tokens issued) before the leader's cancellation; it must be in flight", issued)
	}
	wg.Wait()

	for i := range followers {
		if errs[i] != nil {
			t.Fatalf("follower %d failed after the leader cancelled: %v", i, errs[i])
		}
		if tokens[i] == "" || tokens[i] != tokens[0] {
			t.Fatalf("follower %d got a different (or empty) token than follower 0", i)
		}
	}
	s.wantTokenRequests(t, 1)
	if code := s.whoami(t, tokens[0]); code != 200 {
		t.Errorf("token fetched for the followers rejected by EEO: HTTP %d", code)
	}
}
