package memory_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// fetcher issues a token of a realistic length (EEO's are opaque strings;
// 64 characters here).
type fetcher struct{ token string }

func (f fetcher) FetchToken(context.Context) (auth.Grant, error) {
	return auth.Grant{AccessToken: auth.NewSecret(f.token), TokenType: "Bearer", ExpiresIn: time.Hour}, nil
}

const accounts = 10_000

// BenchmarkCacheBytesPerAccount reports the token cache's memory per
// account with a token cached: its entry, the cached token state and the
// token itself. The accounts' fetchers (the caller's credentials) are
// allocated before the measurement starts.
func BenchmarkCacheBytesPerAccount(b *testing.B) {
	var perAccount float64
	for b.Loop() {
		list := make([]auth.Account, accounts)
		for i := range list {
			list[i] = auth.Account{Name: fmt.Sprintf("account-%05d", i), Fetcher: fetcher{token: fmt.Sprintf("%064d", i)}}
		}
		before := heapAlloc()
		c, err := auth.NewCache(list, auth.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range list {
			if _, err := c.Token(context.Background(), a.Name); err != nil {
				b.Fatal(err)
			}
		}
		perAccount = float64(heapAlloc()-before) / accounts
		c.Close()
	}
	b.ReportMetric(perAccount, "bytes/account")
	b.ReportMetric(0, "ns/op")
}

// TestCacheBytesPerAccountIsBounded keeps the benchmark's subject honest:
// a cache of many accounts holds each one's token and serves it.
func TestCacheBytesPerAccountIsBounded(t *testing.T) {
	list := []auth.Account{{Name: "a", Fetcher: fetcher{token: strings.Repeat("x", 64)}}}
	c, err := auth.NewCache(list, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, err := c.Token(context.Background(), "a")
	if err != nil || tok.AccessToken.Reveal() != strings.Repeat("x", 64) {
		t.Fatalf("token %v, %v", tok.AccessToken, err)
	}
}

// heapAlloc is the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
