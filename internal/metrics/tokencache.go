package metrics

import (
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/prometheus/client_golang/prometheus"
)

// TokenStats is what the token-cache collector reads; *auth.Cache
// implements it.
type TokenStats interface {
	Stats() []auth.AccountStats
}

// tokenCacheCollector turns the cache's own counters into metrics at scrape
// time. The cache counts with per-account atomics, so its hit path stays
// free of locks and allocations whether metrics are on or not; a labelled
// Counter.Inc there would cost a map lookup per hit.
type tokenCacheCollector struct {
	cache TokenStats
	now   func() time.Time

	hits, misses, joined, refreshes, backoff *prometheus.Desc
	adopted                                  *prometheus.Desc
	fetches, invalidations                   *prometheus.Desc
	expiry, idle                             *prometheus.Desc
}

// NewTokenCacheCollector returns a collector of the cache's per-account
// metrics. now is the clock the seconds-until gauges use; nil means
// time.Now (pass the cache's own clock in tests).
func NewTokenCacheCollector(cache TokenStats, now func() time.Time) prometheus.Collector {
	if now == nil {
		now = time.Now
	}
	account := []string{"account"}
	return &tokenCacheCollector{
		cache: cache,
		now:   now,
		hits: prometheus.NewDesc("eeo_gateway_token_cache_hits_total",
			"Token requests answered from the cache without waiting.", account, nil),
		misses: prometheus.NewDesc("eeo_gateway_token_cache_misses_total",
			"Token requests that found no usable cached token and waited for a fetch.", account, nil),
		joined: prometheus.NewDesc("eeo_gateway_token_fetch_joins_total",
			"Callers that got their token from a fetch another call had already started.", account, nil),
		refreshes: prometheus.NewDesc("eeo_gateway_token_background_refreshes_total",
			"Refreshes started in the background in the last part of a token's life.", account, nil),
		backoff: prometheus.NewDesc("eeo_gateway_token_backoff_rejections_total",
			"Token requests failed at once, without asking EEO, while fetches back off after a failure.", account, nil),
		adopted: prometheus.NewDesc("eeo_gateway_token_shared_adoptions_total",
			"Tokens taken from the shared store (Redis), stored there by another replica's fetch, instead of asking EEO.", account, nil),
		fetches: prometheus.NewDesc("eeo_gateway_token_fetches_total",
			"Token requests sent to EEO's token endpoint, by outcome (success, error) and reason (ok or the failure's kind).",
			[]string{"account", "outcome", "reason"}, nil),
		invalidations: prometheus.NewDesc("eeo_gateway_token_invalidations_total",
			"Cached tokens dropped, by cause: idle, expired, rejected_by_eeo (401), invalidate_token (a caller), secret_rotation, shared_store (another replica refreshed or invalidated it).",
			[]string{"account", "cause"}, nil),
		expiry: prometheus.NewDesc("eeo_gateway_token_expiry_seconds",
			"Seconds until the cached token's absolute expiry (negative once past); absent without a cached token.", account, nil),
		idle: prometheus.NewDesc("eeo_gateway_token_idle_deadline_seconds",
			"Seconds until the cached token goes stale unless used (EEO's idle rule, less the margin); absent without a cached token.", account, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *tokenCacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hits, c.misses, c.joined, c.refreshes, c.backoff, c.adopted, c.fetches, c.invalidations, c.expiry, c.idle} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *tokenCacheCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	for _, a := range c.cache.Stats() {
		counter := func(d *prometheus.Desc, v int64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{a.Name}, labels...)...)
		}
		counter(c.hits, a.Hits)
		counter(c.misses, a.Misses)
		counter(c.joined, a.Joined)
		counter(c.refreshes, a.BackgroundRefreshes)
		counter(c.backoff, a.BackoffRejections)
		counter(c.adopted, a.Adopted)
		for _, reason := range auth.FetchReasons() {
			outcome := "error"
			if reason == auth.FetchReasonOK {
				outcome = "success"
			}
			counter(c.fetches, a.FetchResults[reason], outcome, reason)
		}
		for _, cause := range auth.Causes() {
			counter(c.invalidations, a.Invalidations[cause], cause.String())
		}
		if a.HasToken {
			ch <- prometheus.MustNewConstMetric(c.expiry, prometheus.GaugeValue, a.ExpiresAt.Sub(now).Seconds(), a.Name)
			ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, a.IdleDeadline.Sub(now).Seconds(), a.Name)
		}
	}
}
