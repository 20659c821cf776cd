package auth_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
)

// benchReplicas returns n Caches sharing a fresh redis-server, each with
// its own client, and the fetcher they share.
func benchReplicas(b *testing.B, n int) ([]*auth.Cache, *authtest.Fetcher) {
	b.Helper()
	srv := redistest.Start(b, redistest.Options{})
	f := &authtest.Fetcher{}
	out := make([]*auth.Cache, n)
	for i := range out {
		c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: f}},
			auth.Options{Shared: redisStore(b, srv.Addr)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		out[i] = c
	}
	return out, f
}

// BenchmarkTokenHitShared is BenchmarkTokenHit with Redis configured: the
// hit path never calls the store, so the two must match (and allocate
// nothing).
func BenchmarkTokenHitShared(b *testing.B) {
	rs, _ := benchReplicas(b, 1)
	c := rs[0]
	ctx := context.Background()
	c.Token(ctx, "demo")
	b.ReportAllocs()
	for b.Loop() {
		c.Token(ctx, "demo")
	}
}

// BenchmarkTokenHitSharedParallel is BenchmarkTokenHitParallel with Redis
// configured.
func BenchmarkTokenHitSharedParallel(b *testing.B) {
	rs, _ := benchReplicas(b, 1)
	c := rs[0]
	ctx := context.Background()
	c.Token(ctx, "demo")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Token(ctx, "demo")
		}
	})
}

// BenchmarkSharedMissAdopt is a replica's miss when another replica has
// stored the token: one Load and a decryption, no request to EEO.
func BenchmarkSharedMissAdopt(b *testing.B) {
	rs, f := benchReplicas(b, 2)
	a, other := rs[0], rs[1]
	ctx := context.Background()
	if _, err := a.Token(ctx, "demo"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		auth.DropLocal(other, "demo") // the shared token stays
		if _, err := other.Token(ctx, "demo"); err != nil {
			b.Fatal(err)
		}
	}
	if f.Calls() != 1 {
		b.Fatalf("%d token requests, want 1", f.Calls())
	}
}

// BenchmarkSharedRefresh is the Redis side of one refresh on the replica
// that does it: Load, Lock, Load, Store, Unlock around an EEO request that
// costs nothing here.
func BenchmarkSharedRefresh(b *testing.B) {
	rs, _ := benchReplicas(b, 1)
	c := rs[0]
	ctx := context.Background()
	c.Token(ctx, "demo")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Refresh(ctx, "demo"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCrossReplicaRefresh is one cross-replica refresh end to end,
// without the wait for the sync interval: A refreshes and stores, B's sync
// round finds the new token, and B serves it from its cache. In service a
// refresh reaches B within Options.SharedSyncInterval plus this.
func BenchmarkCrossReplicaRefresh(b *testing.B) {
	rs, _ := benchReplicas(b, 2)
	a, other := rs[0], rs[1]
	ctx := context.Background()
	a.Token(ctx, "demo")
	other.Token(ctx, "demo")
	b.ReportAllocs()
	for b.Loop() {
		fresh, err := a.Refresh(ctx, "demo")
		if err != nil {
			b.Fatal(err)
		}
		auth.SyncShared(other)
		if got, _ := other.Token(ctx, "demo"); got.Fingerprint != fresh.Fingerprint {
			b.Fatal("B does not serve A's refreshed token after a sync round")
		}
	}
}

// BenchmarkCrossReplicaRefreshNotice is the same refresh as it happens in
// service with Redis: A refreshes and stores, Redis announces the change,
// B's sync loop loads the new token; the time until B serves it. The sync
// interval is far off, so only the notice can bring it.
func BenchmarkCrossReplicaRefreshNotice(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	var rs []*auth.Cache
	for range 2 {
		c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: &authtest.Fetcher{}}},
			auth.Options{Shared: redisStore(b, srv.Addr), SharedSyncInterval: 25 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		rs = append(rs, c)
	}
	a, other := rs[0], rs[1]
	ctx := context.Background()
	a.Token(ctx, "demo")
	other.Token(ctx, "demo")
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer raw.Close()
	const channel = "eeo-gateway:token-changes"
	for raw.PubSubNumSub(ctx, channel).Val()[channel] < 2 {
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		fresh, err := a.Refresh(ctx, "demo")
		if err != nil {
			b.Fatal(err)
		}
		for {
			if got, _ := other.Token(ctx, "demo"); got.Fingerprint == fresh.Fingerprint {
				break
			}
			runtime.Gosched()
		}
	}
}
