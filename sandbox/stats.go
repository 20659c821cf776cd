package sandbox

import (
	"maps"
	"net/http"
	"slices"
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
	// TokensRevoked counts live tokens revoked because a newer token was
	// issued to the same client (only with Options.OneActiveToken).
	TokensRevoked int64 `json:"tokens_revoked"`
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
	// Recent are the last requests received (at most maxRecent, oldest
	// first), with the tracing headers a client sent, so a test can follow
	// a call from the gateway to EEO.
	Recent []SeenRequest `json:"recent"`
}

// SeenRequest is one request the sandbox received: its method and path
// and the X-Request-Id and W3C traceparent headers it carried (empty when
// absent; cut to maxSeenHeader bytes).
type SeenRequest struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	RequestID   string `json:"request_id,omitempty"`
	Traceparent string `json:"traceparent,omitempty"`
}

// Bounds of Stats.Recent, so a client cannot grow the sandbox's memory.
const (
	maxRecent     = 256
	maxSeenHeader = 256
)

// counters is the live, concurrently updated form of Stats.
type counters struct {
	tokenRequests  atomic.Int64
	tokensIssued   atomic.Int64
	tokensRevoked  atomic.Int64
	apiRequests    atomic.Int64
	rejectedTokens atomic.Int64
	importsCreated atomic.Int64
	reportsCreated atomic.Int64
	uploadsAborted atomic.Int64
	downloads      atomic.Int64

	mu       sync.Mutex
	byClient map[string]int64 // guarded by mu
	recent   []SeenRequest    // guarded by mu; a ring of maxRecent
	next     int              // guarded by mu; where the ring writes next
}

// seen records a request for Stats.Recent.
func (c *counters) seen(r *http.Request) {
	clip := func(s string) string { return s[:min(len(s), maxSeenHeader)] }
	req := SeenRequest{
		Method:      r.Method,
		Path:        clip(r.URL.Path),
		RequestID:   clip(r.Header.Get("X-Request-Id")),
		Traceparent: clip(r.Header.Get("Traceparent")),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.recent) < maxRecent {
		c.recent = append(c.recent, req)
		return
	}
	c.recent[c.next] = req
	c.next = (c.next + 1) % maxRecent
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
	recent := append(slices.Clone(s.stats.recent[s.stats.next:]), s.stats.recent[:s.stats.next]...)
	s.stats.mu.Unlock()
	return Stats{
		TokenRequests:         s.stats.tokenRequests.Load(),
		TokensIssued:          s.stats.tokensIssued.Load(),
		TokensRevoked:         s.stats.tokensRevoked.Load(),
		APIRequests:           s.stats.apiRequests.Load(),
		RejectedTokens:        s.stats.rejectedTokens.Load(),
		ImportsCreated:        s.stats.importsCreated.Load(),
		ReportsCreated:        s.stats.reportsCreated.Load(),
		UploadsAborted:        s.stats.uploadsAborted.Load(),
		Downloads:             s.stats.downloads.Load(),
		TokenRequestsByClient: byClient,
		Recent:                recent,
	}
}
