package access

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/grpc/codes"
)

// ErrorInfo reasons of the Guard's resource bounds.
const (
	// ReasonTransferLimit: the caller already has
	// Config.MaxConcurrentTransfersPerCaller streams (uploads, downloads,
	// watches) open (RESOURCE_EXHAUSTED, HTTP 429, with a RetryInfo).
	ReasonTransferLimit = "CALLER_TRANSFER_LIMIT"
	// ReasonUnauthenticatedRateLimited: the caller's address has failed
	// authentication more often than Config.Unauthenticated allows, and
	// its credential was refused without being verified
	// (RESOURCE_EXHAUSTED, HTTP 429, with a RetryInfo).
	ReasonUnauthenticatedRateLimited = "UNAUTHENTICATED_RATE_LIMITED"
)

// DefaultMaxConcurrentTransfersPerCaller is
// Config.MaxConcurrentTransfersPerCaller when unset.
const DefaultMaxConcurrentTransfersPerCaller = 32

// transferSlots counts each caller's open streams against a maximum, so no
// caller can hold more than its share of the server's (and the REST
// facade's) streams. Entries at zero are dropped.
type transferSlots struct {
	max int
	mu  sync.Mutex
	n   map[string]int // guarded by mu
}

func newTransferSlots(max int) (*transferSlots, error) {
	if max < 0 {
		return nil, errors.New("MaxConcurrentTransfersPerCaller: must not be negative")
	}
	if max == 0 {
		max = DefaultMaxConcurrentTransfersPerCaller
	}
	return &transferSlots{max: max, n: map[string]int{}}, nil
}

// acquire takes one of key's slots; release gives it back.
func (t *transferSlots) acquire(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n[key] >= t.max {
		return false
	}
	t.n[key]++
	return true
}

func (t *transferSlots) release(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n[key] <= 1 {
		delete(t.n, key)
		return
	}
	t.n[key]--
}

// transferKey is whose share a stream counts against: the caller, or with
// access control off (every caller "anonymous"), the peer address, so
// unrelated clients do not share one share.
func (g *Guard) transferKey(ctx context.Context, c Caller) string {
	if g.anonymous {
		return c.Name + "@" + peerAddr(ctx).String()
	}
	return c.Name
}

// errTransferLimit refuses a stream beyond the caller's share.
func errTransferLimit(c Caller, max int) error {
	return rpcerr.New(codes.ResourceExhausted, ReasonTransferLimit,
		"caller "+strconv.Quote(clip(c.Name))+" already has "+strconv.Itoa(max)+" uploads, downloads or watches open; finish one, then retry",
		map[string]string{"caller": clip(c.Name), "limit": strconv.Itoa(max)}, rpcerr.RetryInfo(time.Second))
}
