package access

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
)

// Unauthenticated bounds what failed authentication costs the gateway, per
// peer address (for REST calls, the HTTP client's address).
type Unauthenticated struct {
	// PerSecond and Burst are the rate of failed JWT verifications a peer
	// address may cause: the one refusal that costs real work (a signature
	// check). Beyond it, JWTs from that address are refused at their
	// headers, unverified, with RESOURCE_EXHAUSTED
	// (ReasonUnauthenticatedRateLimited) and a RetryInfo. Calls with no
	// credential or an unknown API key cost nothing to refuse, stay
	// UNAUTHENTICATED and are not charged, so a flood of them cannot lock
	// out JWT callers behind the same address. Defaults 5 and 20; a
	// negative PerSecond turns the limit off.
	PerSecond float64
	Burst     int
	// AuditBurst is how many failures per peer address and AuditInterval
	// are written as audit events of their own; the others are counted,
	// and written as one summary event (AuditSummaryMessage) when the
	// address fails again after the interval, when it is evicted, or at
	// Close. Default 1: the first failure in full, then one line per
	// interval however large the flood.
	AuditBurst int
	// AuditInterval is the aggregation interval. Default 1m.
	AuditInterval time.Duration
	// MaxPeers bounds how many peer addresses are tracked; the least
	// recently failing is evicted first. Default 10000.
	MaxPeers int
}

// Defaults for Unauthenticated.
const (
	DefaultUnauthenticatedPerSecond = 5
	DefaultUnauthenticatedBurst     = 20
	DefaultUnauthenticatedAudit     = 1
	DefaultAuditInterval            = time.Minute
	DefaultMaxPeers                 = 10000
)

// AuditSummaryMessage is the slog message of the event that stands for
// the authentication failures of one peer address that were not audited
// one by one. Its attributes: peer, failures (the count), since, until.
const AuditSummaryMessage = "audit summary"

// unauthTracker keeps, per peer address, the failure rate limiter and the
// audit aggregation window, in an LRU of bounded size.
type unauthTracker struct {
	cfg   Unauthenticated
	limit rate.Limit // rate.Inf when off
	now   func() time.Time

	mu      sync.Mutex
	order   *list.List                   // guarded by mu; of *peerFailures, most recent first
	byKey   map[netip.Addr]*list.Element // guarded by mu
	evicted []failureSummary             // guarded by mu; evicted records' summaries, not yet written
}

// peerFailures is one address's record.
type peerFailures struct {
	addr        netip.Addr
	lim         *rate.Limiter
	windowStart time.Time
	audited     int // failures audited in full in this window
	suppressed  int // failures only counted in this window
	last        time.Time
}

// failureSummary is a window's count of failures not audited one by one.
type failureSummary struct {
	addr         netip.Addr
	count        int
	since, until time.Time
}

func newUnauthTracker(cfg Unauthenticated, now func() time.Time) (*unauthTracker, error) {
	switch {
	case math.IsNaN(cfg.PerSecond) || math.IsInf(cfg.PerSecond, 0):
		return nil, errors.New("Unauthenticated.PerSecond: must be a finite number")
	case cfg.Burst < 0, cfg.AuditBurst < 0, cfg.AuditInterval < 0, cfg.MaxPeers < 0:
		return nil, errors.New("Unauthenticated: Burst, AuditBurst, AuditInterval and MaxPeers must not be negative")
	}
	if cfg.PerSecond == 0 {
		cfg.PerSecond = DefaultUnauthenticatedPerSecond
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultUnauthenticatedBurst
	}
	if cfg.AuditBurst == 0 {
		cfg.AuditBurst = DefaultUnauthenticatedAudit
	}
	if cfg.AuditInterval == 0 {
		cfg.AuditInterval = DefaultAuditInterval
	}
	if cfg.MaxPeers == 0 {
		cfg.MaxPeers = DefaultMaxPeers
	}
	limit := rate.Limit(cfg.PerSecond)
	if cfg.PerSecond < 0 {
		limit = rate.Inf
	}
	return &unauthTracker{cfg: cfg, limit: limit, now: now, order: list.New(), byKey: map[netip.Addr]*list.Element{}}, nil
}

// peerAddr is the address failures are counted by: the call's peer IP,
// which the server sets to the REST client's for facade calls.
func peerAddr(ctx context.Context) netip.Addr {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return netip.Addr{}
	}
	if ta, ok := p.Addr.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(p.Addr.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// admitUnverified refuses a credential that would need verifying when the
// call's address is over its verification failure rate. It spends nothing.
func (t *unauthTracker) admitUnverified(ctx context.Context) error {
	if t.limit == rate.Inf {
		return nil
	}
	addr := peerAddr(ctx)
	now := t.now()
	t.mu.Lock()
	e, ok := t.byKey[addr]
	var wait time.Duration
	if ok {
		lim := e.Value.(*peerFailures).lim
		if lim.TokensAt(now) < 1 {
			wait = time.Duration(math.Ceil((1-lim.TokensAt(now))/float64(t.limit)*1e3)) * time.Millisecond
		}
	}
	t.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	return rpcerr.New(codes.ResourceExhausted, ReasonUnauthenticatedRateLimited,
		"too many failed authentications from this address; retry after "+wait.String(), nil, rpcerr.RetryInfo(wait))
}

// failed records an authentication failure of the call's address. It
// reports whether this failure gets an audit event of its own, and returns
// the summaries due: the address's previous window, and any evicted one.
func (t *unauthTracker) failed(ctx context.Context) (audit bool, due []failureSummary) {
	addr := peerAddr(ctx)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	pf := t.record(addr, now)
	due, t.evicted = t.evicted, nil
	if now.Sub(pf.windowStart) >= t.cfg.AuditInterval {
		if s, ok := pf.summary(); ok {
			due = append(due, s)
		}
		pf.windowStart, pf.audited, pf.suppressed = now, 0, 0
	}
	pf.last = now
	if pf.audited < t.cfg.AuditBurst {
		pf.audited++
		return true, due
	}
	pf.suppressed++
	return false, due
}

// record returns addr's record, creating it (and evicting the least
// recently failing beyond MaxPeers, keeping its summary for the next
// failed) if need be. t.mu is held.
func (t *unauthTracker) record(addr netip.Addr, now time.Time) *peerFailures {
	if e, ok := t.byKey[addr]; ok {
		t.order.MoveToFront(e)
		return e.Value.(*peerFailures)
	}
	pf := &peerFailures{addr: addr, lim: rate.NewLimiter(t.limit, t.cfg.Burst), windowStart: now}
	t.byKey[addr] = t.order.PushFront(pf)
	for t.order.Len() > t.cfg.MaxPeers {
		oldest := t.order.Back()
		t.order.Remove(oldest)
		old := oldest.Value.(*peerFailures)
		delete(t.byKey, old.addr)
		if s, ok := old.summary(); ok {
			t.evicted = append(t.evicted, s)
		}
	}
	return pf
}

// verifyFailed charges a failed JWT verification to the call's address.
func (t *unauthTracker) verifyFailed(ctx context.Context) {
	if t.limit == rate.Inf {
		return
	}
	addr := peerAddr(ctx)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.record(addr, now).lim.AllowN(now, 1)
}

func (pf *peerFailures) summary() (failureSummary, bool) {
	return failureSummary{addr: pf.addr, count: pf.suppressed, since: pf.windowStart, until: pf.last}, pf.suppressed > 0
}

// flush returns every summary still due and forgets the counts.
func (t *unauthTracker) flush() []failureSummary {
	t.mu.Lock()
	defer t.mu.Unlock()
	due := t.evicted
	t.evicted = nil
	for e := t.order.Front(); e != nil; e = e.Next() {
		pf := e.Value.(*peerFailures)
		if s, ok := pf.summary(); ok {
			due = append(due, s)
		}
		pf.suppressed = 0
	}
	return due
}

// writeSummary emits the event standing for s's failures.
func (a *auditor) writeSummary(ctx context.Context, s failureSummary) {
	peer := "unknown"
	if s.addr.IsValid() {
		peer = s.addr.String()
	}
	a.log.LogAttrs(ctx, slog.LevelWarn, AuditSummaryMessage,
		slog.String("outcome", codes.Unauthenticated.String()),
		slog.String("peer", peer),
		slog.Int("failures", s.count),
		slog.Time("since", s.since),
		slog.Time("until", s.until),
	)
}

// auditUnauthenticated audits, or counts into a summary, a failed
// authentication, and writes the summaries that fell due.
func (g *Guard) auditUnauthenticated(ctx context.Context, rec auditRecord, err error) {
	audit, due := g.unauth.failed(ctx)
	for _, s := range due {
		g.audit.writeSummary(ctx, s)
	}
	if audit {
		g.audit.write(ctx, rec, err)
	}
}

// refuseUnauthenticated is the tap's refusal: observed, and audited as the
// interceptor's would be.
func (g *Guard) refuseUnauthenticated(ctx context.Context, method string, err error) {
	if rpcerr.Info(err).GetReason() == ReasonUnauthenticatedRateLimited {
		// Refused for the rate, not for a credential: counted, not audited,
		// so a flood stays a count.
		g.obs.Authenticated(AuthViaBearer, AuthRateLimited)
		return
	}
	g.observeAuthentication(ctx, Caller{}, err)
	g.auditUnauthenticated(ctx, g.audit.startRecord(ctx, method, nil), err)
}
