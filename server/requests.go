package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/redishealth"
	"github.com/eeo-gateway/eeo-gateway/internal/redisrequests"
)

// RequestStore keeps idempotency records where every replica of the
// gateway sees them; *redisrequests.Store implements it on Redis. See
// Config.RequestStore.
type RequestStore interface {
	// Begin claims k for lease, or returns the finished request's result,
	// or fails with redisrequests.ErrInProgress while another caller
	// holds it.
	Begin(ctx context.Context, k redisrequests.Key, lease time.Duration) (*redisrequests.Claim, *redisrequests.Result, error)
	// Extend renews the claim's lease.
	Extend(ctx context.Context, c *redisrequests.Claim, lease time.Duration) error
	// Finish records the claimed request's result.
	Finish(ctx context.Context, c *redisrequests.Claim, r redisrequests.Result) error
	// Forget drops the claim after a failure.
	Forget(ctx context.Context, c *redisrequests.Claim) error
}

// Timing of shared claims and of the retries that wait for them.
const (
	// requestLease is how long a shared claim lasts without renewal: a
	// replica that dies mid-request holds the id at most this long.
	requestLease = 30 * time.Second
	// requestRenewEvery renews a running request's claim well before it
	// runs out, so one slow renewal does not lose it.
	requestRenewEvery = requestLease / 3
	// requestPollMin and requestPollMax bound the wait between two looks
	// at a request another replica runs: soon at first (most requests take
	// well under a second), then doubling, since a large upload may take
	// minutes.
	requestPollMin = 50 * time.Millisecond
	requestPollMax = time.Second
)

// Fallback operations, the values of eeo_gateway_redis_fallbacks_total's
// operation label for the request-id log.
const (
	opRequestBegin  = "request_begin"
	opRequestExtend = "request_extend"
	opRequestFinish = "request_finish"
	opRequestForget = "request_forget"
)

// requests makes create requests idempotent by request_id, per account
// (IETF draft-ietf-httpapi-idempotency-key-header; Stripe's semantics):
//
//   - the first request with an id runs and its result is remembered;
//   - a retry with the same id while the first still runs waits for it
//     (as long as the retry's deadline allows: then it is ABORTED,
//     REQUEST_IN_PROGRESS, having created nothing) and then gets what a
//     retry after it gets;
//   - a retry after it succeeded gets the original object back if it asks
//     for the same thing, or ALREADY_EXISTS (REQUEST_ID_REUSED) if not;
//   - a first request that failed is forgotten, so a retry runs afresh
//     (one of the retries waiting for it, if any).
//
// With a shared store (Redis) the log is cluster-wide and outlives
// restarts: the claim is a marker with a lease the owner renews, and
// retries on other replicas poll it. While Redis is down (health) the
// replica's in-memory log stands in: the same rules within this replica,
// none across replicas or restarts — there the id sent to EEO as
// Idempotency-Key is what is left. A request id this replica holds or
// remembers locally is answered locally first, so a request claimed
// during an outage is still deduplicated here after Redis returns.
type requests struct {
	local  *requestLog
	shared RequestStore // nil: local only
	health *redishealth.Tracker
}

// requestClaim is an owner's hold on a request id, which it must finish or
// forget.
type requestClaim struct {
	key    requestKey
	local  *requestEntry        // the claim in the local log, when not shared
	shared *redisrequests.Claim // nil: held in the local log
	stop   func()               // ends the lease renewal of a shared claim
	done   bool                 // finish or forget ran; only the owner's goroutine touches it
}

// begin claims key for the caller, waiting while another caller runs it.
// A non-nil claim means the caller runs the request; otherwise prior is
// the finished original.
func (r *requests) begin(ctx context.Context, key requestKey) (*requestClaim, requestEntry, error) {
	poll := requestPollMin
	for {
		if r.shared != nil {
			if prior, found, wait := r.local.lookup(key); found {
				if wait == nil {
					return nil, prior, nil
				}
				if err := waitFor(ctx, wait); err != nil {
					return nil, requestEntry{}, err
				}
				continue
			}
			c, prior, inProgress, err := r.beginShared(ctx, key)
			switch {
			case err == nil && inProgress:
				t := time.NewTimer(poll)
				err := waitFor(ctx, t.C)
				t.Stop()
				if err != nil {
					return nil, requestEntry{}, err
				}
				poll = min(2*poll, requestPollMax)
				continue
			case err == nil:
				return c, prior, nil
			case ctx.Err() != nil:
				return nil, requestEntry{}, requestInProgress()
			}
			// Redis is down or failed: this replica's log stands in.
		}
		claim, prior, wait := r.local.begin(key)
		switch {
		case claim != nil:
			return &requestClaim{key: key, local: claim}, requestEntry{}, nil
		case wait == nil:
			return nil, prior, nil
		}
		if err := waitFor(ctx, wait); err != nil {
			return nil, requestEntry{}, err
		}
	}
}

// waitFor waits for ch, or fails with REQUEST_IN_PROGRESS when ctx ends
// first: the caller gave up waiting for the request that holds the id.
func waitFor[T any](ctx context.Context, ch <-chan T) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return requestInProgress()
	}
}

// beginShared is one Begin in the shared store. An error means the caller
// falls back to the local log.
func (r *requests) beginShared(ctx context.Context, key requestKey) (claim *requestClaim, prior requestEntry, inProgress bool, err error) {
	var (
		c   *redisrequests.Claim
		res *redisrequests.Result
	)
	err = r.health.Call(ctx, opRequestBegin, func(ctx context.Context) error {
		var err error
		c, res, err = r.shared.Begin(ctx, sharedKey(key), requestLease)
		if errors.Is(err, redisrequests.ErrInProgress) {
			inProgress = true
			return nil // Redis answered
		}
		return err
	})
	switch {
	case err != nil || inProgress:
		return nil, requestEntry{}, inProgress, err
	case res != nil:
		return nil, requestEntry{done: true, fingerprint: res.Fingerprint, resultID: res.ResultID}, false, nil
	}
	return &requestClaim{key: key, shared: c, stop: r.renew(ctx, c)}, requestEntry{}, false, nil
}

// renew extends c's lease every requestRenewEvery until the returned stop
// is called, so a request longer than one lease keeps its claim. It
// outlives a cancelled ctx: the owner still finishes or forgets.
func (r *requests) renew(ctx context.Context, c *redisrequests.Claim) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(requestRenewEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			lost := false
			_ = r.health.Call(ctx, opRequestExtend, func(ctx context.Context) error {
				err := r.shared.Extend(ctx, c, requestLease)
				if errors.Is(err, redisrequests.ErrClaimLost) {
					lost = true
					return nil
				}
				return err
			})
			if lost {
				return // Finish will find it lost too, and record locally
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// finish records the owner's success. A shared result Redis did not take
// (it is down, or the claim ran out) is kept in the local log, so retries
// that reach this replica still get it.
func (r *requests) finish(ctx context.Context, c *requestClaim, fingerprint, resultID string) {
	c.done = true
	if c.shared == nil {
		r.local.finish(c.key, c.local, fingerprint, resultID)
		return
	}
	c.stop()
	lost := false
	// The object exists at EEO whatever the caller does now: record it
	// even if the caller has gone.
	err := r.health.Call(context.WithoutCancel(ctx), opRequestFinish, func(ctx context.Context) error {
		err := r.shared.Finish(ctx, c.shared, redisrequests.Result{Fingerprint: fingerprint, ResultID: resultID})
		if errors.Is(err, redisrequests.ErrClaimLost) {
			lost = true
			return nil
		}
		return err
	})
	if err != nil || lost {
		r.local.record(c.key, fingerprint, resultID)
	}
}

// forget drops the owner's claim after a failure. A shared claim Redis
// does not drop runs out with its lease.
func (r *requests) forget(ctx context.Context, c *requestClaim) {
	c.done = true
	if c.shared == nil {
		r.local.forget(c.key, c.local)
		return
	}
	c.stop()
	_ = r.health.Call(context.WithoutCancel(ctx), opRequestForget, func(ctx context.Context) error {
		if err := r.shared.Forget(ctx, c.shared); !errors.Is(err, redisrequests.ErrClaimLost) {
			return err
		}
		return nil
	})
}

// sharedKey is key in the shared store.
func sharedKey(k requestKey) redisrequests.Key {
	return redisrequests.Key{Account: k.account, Kind: k.kind, ID: k.id}
}

// release forgets c unless finish or forget already settled it. Owners
// defer it, so a request that panics between begin and finish does not
// leave its id claimed, with retries waiting out their deadlines and a
// shared claim renewed until the process exits.
func (r *requests) release(ctx context.Context, c *requestClaim) {
	if !c.done {
		r.forget(ctx, c)
	}
}
