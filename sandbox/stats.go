package sandbox

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Stats counts requests seen by a Sandbox, so tests can assert how often a
// client called upstream (for example, that a token cache really caches).
type Stats struct {
	// TokenRequests counts every request that reached the token endpoint,
	// including rejected and faulted ones.
	TokenRequests int64 `json:"token_requests"`
	// TokensIssued counts access tokens issued.
	TokensIssued int64 `json:"tokens_issued"`
	// APIRequests counts every request to a protected endpoint.
	APIRequests int64 `json:"api_requests"`
	// RejectedTokens counts protected requests answered 401 because the
	// token was missing, unknown, inactive or past its lifetime.
	RejectedTokens int64 `json:"rejected_tokens"`
	// TokenRequestsByClient counts token requests by the client ID they
	// presented, whether or not the secret was right and including faulted
	// ones. Only configured client IDs are counted, so arbitrary input
	// cannot grow the map.
	TokenRequestsByClient map[string]int64 `json:"token_requests_by_client"`
}

// counters is the live, concurrently updated form of Stats.
type counters struct {
	tokenRequests  atomic.Int64
	tokensIssued   atomic.Int64
	apiRequests    atomic.Int64
	rejectedTokens atomic.Int64

	mu       sync.Mutex
	byClient map[string]int64 // guarded by mu
}

// countClient records one token request presented by clientID.
func (c *counters) countClient(clientID string) {
	c.mu.Lock()
	c.byClient[clientID]++
	c.mu.Unlock()
}

// Stats returns a copy of the counters. Counters are read one by one, so a
// snapshot taken under concurrent traffic may be off by in-flight requests.
func (s *Sandbox) Stats() Stats {
	s.stats.mu.Lock()
	byClient := maps.Clone(s.stats.byClient)
	s.stats.mu.Unlock()
	return Stats{
		TokenRequests:         s.stats.tokenRequests.Load(),
		TokensIssued:          s.stats.tokensIssued.Load(),
		APIRequests:           s.stats.apiRequests.Load(),
		RejectedTokens:        s.stats.rejectedTokens.Load(),
		TokenRequestsByClient: byClient,
	}
}
