package redisstore_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkLoad is what a replica pays to pick up the token another replica
// stored (one HMGET and a decryption), on a local miss.
func BenchmarkLoad(b *testing.B) {
	f := newFixture(b)
	a, other := f.store(b, key), f.store(b, key)
	lockAndStore(b, a, token("tok-bench", time.Now()))
	ctx := context.Background()
	for b.Loop() {
		if _, ok, err := other.Load(ctx, account); err != nil || !ok {
			b.Fatalf("Load = %v, %v", ok, err)
		}
	}
}

// BenchmarkRefresh is the Redis side of one cross-replica refresh: take
// the fetch lock, store the new token, release the lock, and another
// replica loads it (the EEO request itself excluded).
func BenchmarkRefresh(b *testing.B) {
	f := newFixture(b)
	a, other := f.store(b, key), f.store(b, key)
	ctx := context.Background()
	tok := token("tok-bench", time.Now())
	for b.Loop() {
		lockAndStore(b, a, tok)
		if _, ok, err := other.Load(ctx, account); err != nil || !ok {
			b.Fatalf("Load = %v, %v", ok, err)
		}
	}
}
