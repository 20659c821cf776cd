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
	// ImportsCreated counts imports created (idempotent replays excluded).
	ImportsCreated int64 `json:"imports_created"`
	// ReportsCreated counts reports created (idempotent replays excluded).
	ReportsCreated int64 `json:"reports_created"`
	// UploadsAborted counts uploads whose body could not be read to its
	// end (client disconnect, short body); they create nothing.
	UploadsAborted int64 `json:"uploads_aborted"`
	// Downloads counts report downloads answered 200, whether or not the
	// client read the whole body.
	Downloads int64 `json:"downloads"`
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
	importsCreated atomic.Int64
	reportsCreated atomic.Int64
	uploadsAborted atomic.Int64
	downloads      atomic.Int64

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
		ImportsCreated:        s.stats.importsCreated.Load(),
		ReportsCreated:        s.stats.reportsCreated.Load(),
		UploadsAborted:        s.stats.uploadsAborted.Load(),
		Downloads:             s.stats.downloads.Load(),
		TokenRequestsByClient: byClient,
	}
}
