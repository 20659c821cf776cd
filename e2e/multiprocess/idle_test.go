package multiprocess_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// idleTimeout is EEO's (the sandbox's) inactivity rule in this test, and
// the replicas' token.idle_timeout; idleMargin is token.idle_margin (it
// must exceed the cache's 2 s shared sync interval).
const (
	idleTimeout = 6 * time.Second
	idleMargin  = 3 * time.Second
)

// The idle deadline is shared: a token that one replica keeps using stays
// good on a replica that has not used it for longer than EEO's inactivity
// rule, because any replica's use counts. That replica hands out the same
// token without a token request (against an EEO that keeps one active
// token, a needless fetch would revoke the token the busy replica uses).
//
// EEO's rule is about real time, and the replicas are processes of their
// own, so this test waits for real time to pass, with a short rule.
func TestSharedIdleDeadlineCountsAnyReplicasUse(t *testing.T) {
	t.Parallel()
	c := newCluster(t, clusterOptions{Replicas: 2, Redis: true, OneActiveToken: true,
		SandboxArgs: []string{"--idle-timeout", idleTimeout.String()},
		TokenYAML:   fmt.Sprintf("  idle_timeout: %s\n  idle_margin: %s", idleTimeout, idleMargin),
	})
	busy, idle := c.gateways[0], c.gateways[1]
	first, err := c.getToken(t.Context(), busy)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.getToken(t.Context(), idle)
	if err != nil || tok.GetFingerprint() != first.GetFingerprint() {
		t.Fatalf("GetToken on the second replica: %v, %v; want the shared token", tok.GetFingerprint(), err)
	}
	idleSince := time.Now()

	// The busy replica's callers use the token, at EEO too, throughout.
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var busyErr error
	wg.Go(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := c.getToken(ctx, busy); err != nil && ctx.Err() == nil {
				busyErr = err
				return
			}
			if _, err := busy.files.ListImportTypes(ctx, &eeov1.ListImportTypesRequest{Account: account}); err != nil && ctx.Err() == nil {
				busyErr = err
				return
			}
		}
	})
	// Past the idle replica's own idle deadline, and past EEO's rule for
	// the token's first use: only the busy replica's use keeps it alive.
	select {
	case <-time.After(time.Until(idleSince.Add(idleTimeout + time.Second))):
	case <-t.Context().Done():
	}
	got, err := c.getToken(t.Context(), idle)
	stop()
	wg.Wait()
	if busyErr != nil {
		t.Fatalf("the busy replica's callers: %v", busyErr)
	}
	if err != nil || got.GetFingerprint() != first.GetFingerprint() {
		t.Errorf("GetToken on the replica idle for %v: %v, %v; want the token the other replica kept alive", time.Since(idleSince), got.GetFingerprint(), err)
	}
	if _, err := idle.files.ListImportTypes(t.Context(), &eeov1.ListImportTypesRequest{Account: account}); err != nil {
		t.Errorf("ListImportTypes on the replica that was idle: %v", err)
	}
	if st := c.sandbox.stats(t); st.TokenRequests != 1 || st.RejectedTokens != 0 {
		t.Errorf("after %v of use on one replica only: %s; want 1 token request and no 401", idleTimeout, statsLine(st))
	}
}
