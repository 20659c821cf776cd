package redisrequests_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/internal/redisrequests"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
)

var key = redisrequests.Key{Account: "acme", Kind: "import", ID: "req-1"}

// replicas starts a redis-server and returns n stores on it (one client
// each, as replicas have) and a raw client.
func replicas(t *testing.T, n int) ([]*redisrequests.Store, *redis.Client, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t, redistest.Options{})
	newClient := func() *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		return c
	}
	stores := make([]*redisrequests.Store, n)
	for i := range stores {
		s, err := redisrequests.New(redisrequests.Options{Client: newClient()})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	return stores, newClient(), srv
}

// The same request id sent to several replicas at once: exactly one runs
// it, the others are told it is in progress, and once it finished every
// replica answers its result.
func TestOneClaimantAcrossReplicas(t *testing.T) {
	stores, _, _ := replicas(t, 8)
	ctx := context.Background()
	claims := make([]*redisrequests.Claim, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			<-start
			claims[i], _, errs[i] = s.Begin(ctx, key, time.Minute)
		})
	}
	close(start)
	wg.Wait()
	owner := -1
	for i := range stores {
		switch {
		case claims[i] != nil:
			if owner >= 0 {
				t.Fatalf("replicas %d and %d both claimed the request", owner, i)
			}
			owner = i
		case !errors.Is(errs[i], redisrequests.ErrInProgress):
			t.Errorf("replica %d: %v, want ErrInProgress", i, errs[i])
		}
	}
	if owner < 0 {
		t.Fatal("no replica claimed the request")
	}
	want := redisrequests.Result{Fingerprint: "fp-1", ResultID: "imp_42"}
	if err := stores[owner].Finish(ctx, claims[owner], want); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		c, prior, err := s.Begin(ctx, key, time.Minute)
		if err != nil || c != nil || prior == nil || *prior != want {
			t.Errorf("replica %d after Finish: claim %v, prior %+v, %v; want the result", i, c, prior, err)
		}
	}
}

// A finished record outlives a restart of the gateway (a new Store) and is
// kept for the TTL; other kinds and accounts are separate.
func TestRecordTTLAndScope(t *testing.T) {
	stores, raw, _ := replicas(t, 1)
	ctx := context.Background()
	c, _, err := stores[0].Begin(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := stores[0].Finish(ctx, c, redisrequests.Result{Fingerprint: "fp", ResultID: "imp_1"}); err != nil {
		t.Fatal(err)
	}
	ttl := raw.PTTL(ctx, "eeo-gateway:{acme}:req:import:req-1").Val()
	if ttl > 24*time.Hour || ttl < 23*time.Hour {
		t.Errorf("record TTL %v, want about 24h", ttl)
	}
	for _, other := range []redisrequests.Key{{Account: "acme", Kind: "report", ID: "req-1"}, {Account: "other", Kind: "import", ID: "req-1"}} {
		if c, prior, err := stores[0].Begin(ctx, other, time.Minute); err != nil || c == nil || prior != nil {
			t.Errorf("%+v: claim %v prior %v err %v; want a fresh claim", other, c, prior, err)
		}
	}
}

// A failed request is forgotten so a retry runs afresh; a claimant whose
// lease ran out can neither finish nor forget over the next claimant.
func TestForgetAndLostClaims(t *testing.T) {
	stores, raw, _ := replicas(t, 2)
	a, b := stores[0], stores[1]
	ctx := context.Background()
	c, _, _ := a.Begin(ctx, key, time.Minute)
	if err := a.Forget(ctx, c); err != nil {
		t.Fatal(err)
	}
	cA, _, err := a.Begin(ctx, key, time.Minute)
	if err != nil || cA == nil {
		t.Fatalf("retry after Forget: %v, %v; want a claim", cA, err)
	}
	// A's process dies mid-request: its lease runs out (shortened on the
	// server rather than waited for) and B's retry claims the id.
	raw.PExpire(ctx, "eeo-gateway:{acme}:req:import:req-1", time.Millisecond)
	var cB *redisrequests.Claim
	for deadline := time.Now().Add(5 * time.Second); cB == nil; {
		if time.Now().After(deadline) {
			t.Fatal("B never claimed the id after A's lease ran out")
		}
		cB, _, _ = b.Begin(ctx, key, time.Minute)
	}
	if err := a.Finish(ctx, cA, redisrequests.Result{ResultID: "late"}); !errors.Is(err, redisrequests.ErrClaimLost) {
		t.Errorf("late Finish = %v, want ErrClaimLost", err)
	}
	if err := a.Forget(ctx, cA); !errors.Is(err, redisrequests.ErrClaimLost) {
		t.Errorf("late Forget = %v, want ErrClaimLost", err)
	}
	if err := b.Finish(ctx, cB, redisrequests.Result{Fingerprint: "fp", ResultID: "imp_B"}); err != nil {
		t.Fatal(err)
	}
	if _, prior, _ := a.Begin(ctx, key, time.Minute); prior == nil || prior.ResultID != "imp_B" {
		t.Errorf("after B finished: %+v, want B's result", prior)
	}
}

// With Redis down Begin fails with an error rather than claiming: the
// caller falls back to its local log.
func TestRedisDown(t *testing.T) {
	stores, _, srv := replicas(t, 1)
	srv.Stop(t)
	if c, _, err := stores[0].Begin(context.Background(), key, time.Minute); err == nil || c != nil {
		t.Errorf("Begin with Redis down = %v, %v; want an error", c, err)
	}
}

// Extend keeps a long request's claim beyond its first lease, and only the
// claimant's: after its claim ran out and another took the id, its Extend
// is ErrClaimLost and does not lengthen the other's lease.
func TestExtend(t *testing.T) {
	stores, raw, _ := replicas(t, 2)
	a, b := stores[0], stores[1]
	ctx := context.Background()
	const redisKey = "eeo-gateway:{acme}:req:import:req-1"
	c, _, err := a.Begin(ctx, key, time.Second)
	if err != nil || c == nil {
		t.Fatalf("Begin: %v, %v", c, err)
	}
	if err := a.Extend(ctx, c, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl := raw.PTTL(ctx, redisKey).Val(); ttl < 59*time.Minute {
		t.Errorf("lease after Extend = %v, want about 1h", ttl)
	}
	raw.Del(ctx, redisKey) // the lease ran out
	cB, _, err := b.Begin(ctx, key, time.Second)
	if err != nil || cB == nil {
		t.Fatalf("B's Begin: %v, %v", cB, err)
	}
	if err := a.Extend(ctx, c, time.Hour); !errors.Is(err, redisrequests.ErrClaimLost) {
		t.Errorf("A's late Extend = %v, want ErrClaimLost", err)
	}
	if ttl := raw.PTTL(ctx, redisKey).Val(); ttl > time.Second {
		t.Errorf("B's lease after A's late Extend = %v, want at most 1s", ttl)
	}
}
