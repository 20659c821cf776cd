package server

import (
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/internal/redishealth"
	"github.com/eeo-gateway/eeo-gateway/internal/redisrequests"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
)

// BenchmarkRequestIDLog is what the request-id log adds to one
// CreateImport/CreateReport with a request_id: a begin and a finish, in
// this replica's memory and in a loopback Redis (SET NX, then the finish
// script; the claim's renewal goroutine started and stopped).
func BenchmarkRequestIDLog(b *testing.B) {
	b.Run("local", func(b *testing.B) {
		r := &requests{local: newRequestLog(requestIDTTL, maxRequestIDs, time.Now)}
		benchBeginFinish(b, r)
	})
	b.Run("redis", func(b *testing.B) {
		srv := redistest.Start(b, redistest.Options{})
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		b.Cleanup(func() { rdb.Close() })
		store, err := redisrequests.New(redisrequests.Options{Client: rdb})
		if err != nil {
			b.Fatal(err)
		}
		h, err := redishealth.New(redishealth.Options{})
		if err != nil {
			b.Fatal(err)
		}
		r := &requests{local: newRequestLog(requestIDTTL, maxRequestIDs, time.Now), shared: store, health: h}
		benchBeginFinish(b, r)
	})
}

func benchBeginFinish(b *testing.B, r *requests) {
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		key := requestKey{account: "acme-plan", kind: "import", id: "7d9f2a4e-1c3b-4f5a-9e8d-" + strconv.Itoa(i)}
		c, _, err := r.begin(ctx, key)
		if err != nil || c == nil {
			b.Fatalf("begin: %v, %v", c, err)
		}
		r.finish(ctx, c, "participants\x00people.csv\x00abc", "imp_"+strconv.Itoa(i))
	}
}
