package metrics_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	"github.com/eeo-gateway/eeo-gateway/internal/metrics"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestTokenCacheCollector(t *testing.T) {
	clock := testkit.NewClock()
	f := &authtest.Fetcher{ExpiresIn: time.Hour}
	cache, err := auth.NewCache([]auth.Account{{Name: "acme", Fetcher: f}, {Name: "globex", Fetcher: f}},
		auth.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	ctx := context.Background()
	cache.Token(ctx, "acme")
	cache.Token(ctx, "acme")
	clock.Advance(time.Minute)

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewTokenCacheCollector(cache, clock.Now))
	want := `
# HELP eeo_gateway_token_cache_hits_total Token requests answered from the cache without waiting.
# TYPE eeo_gateway_token_cache_hits_total counter
eeo_gateway_token_cache_hits_total{account="acme"} 1
eeo_gateway_token_cache_hits_total{account="globex"} 0
# HELP eeo_gateway_token_expiry_seconds Seconds until the cached token's absolute expiry (negative once past); absent without a cached token.
# TYPE eeo_gateway_token_expiry_seconds gauge
eeo_gateway_token_expiry_seconds{account="acme"} 3480
# HELP eeo_gateway_token_idle_deadline_seconds Seconds until the cached token goes stale unless used (EEO's idle rule, less the margin); absent without a cached token.
# TYPE eeo_gateway_token_idle_deadline_seconds gauge
eeo_gateway_token_idle_deadline_seconds{account="acme"} 3509
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"eeo_gateway_token_cache_hits_total", "eeo_gateway_token_expiry_seconds", "eeo_gateway_token_idle_deadline_seconds"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(metrics.NewTokenCacheCollector(cache, clock.Now), "eeo_gateway_token_fetches_total"); n != 2*len(auth.FetchReasons()) {
		t.Errorf("fetch series = %d, want every reason for both accounts (%d)", n, 2*len(auth.FetchReasons()))
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// A token another replica fetched and this one took from the shared store
// is counted as an adoption, not a fetch.
func TestTokenCacheCollectorCountsSharedAdoptions(t *testing.T) {
	f := &authtest.Fetcher{ExpiresIn: time.Hour}
	store := &authtest.SharedStore{}
	var replicas []*auth.Cache
	for range 2 {
		c, err := auth.NewCache([]auth.Account{{Name: "acme", Fetcher: f}}, auth.Options{Shared: store})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Token(context.Background(), "acme"); err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, c)
	}
	want := `
# HELP eeo_gateway_token_shared_adoptions_total Tokens taken from the shared store (Redis), stored there by another replica's fetch, instead of asking EEO.
# TYPE eeo_gateway_token_shared_adoptions_total counter
eeo_gateway_token_shared_adoptions_total{account="acme"} %d
`
	for i, n := range []int{0, 1} {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(metrics.NewTokenCacheCollector(replicas[i], nil))
		if err := testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(want, n)), "eeo_gateway_token_shared_adoptions_total"); err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}
