package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/eeo-gateway/eeo-gateway/internal/redishealth"
	"github.com/eeo-gateway/eeo-gateway/internal/redisrequests"
)

var testKey = requestKey{account: "demo", kind: "import", id: "req-1"}

// memStore is a RequestStore in memory that can be taken down, for the
// timing of claims, renewals and fallbacks under synctest (the tests
// against a real Redis are in requests_redis_test.go).
type memStore struct {
	mu      sync.Mutex
	down    bool
	records map[redisrequests.Key]memRecord
	extends int
	next    int
}

type memRecord struct {
	owner   int
	expires time.Time
	result  *redisrequests.Result
}

var errStoreDown = errors.New("dial tcp: connection refused")

func newMemStore() *memStore { return &memStore{records: map[redisrequests.Key]memRecord{}} }

func (m *memStore) setDown(down bool) { m.mu.Lock(); m.down = down; m.mu.Unlock() }

// claims are told apart by the owner number kept beside them.
var claimOwners sync.Map // *redisrequests.Claim -> int

func (m *memStore) Begin(_ context.Context, k redisrequests.Key, lease time.Duration) (*redisrequests.Claim, *redisrequests.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return nil, nil, errStoreDown
	}
	if r, ok := m.records[k]; ok && (r.result != nil || time.Now().Before(r.expires)) {
		if r.result != nil {
			return nil, r.result, nil
		}
		return nil, nil, redisrequests.ErrInProgress
	}
	m.next++
	c := &redisrequests.Claim{}
	claimOwners.Store(c, m.next)
	m.records[k] = memRecord{owner: m.next, expires: time.Now().Add(lease)}
	return c, nil, nil
}

func (m *memStore) held(c *redisrequests.Claim) (redisrequests.Key, bool) {
	owner, _ := claimOwners.Load(c)
	for k, r := range m.records {
		if r.result == nil && r.owner == owner && time.Now().Before(r.expires) {
			return k, true
		}
	}
	return redisrequests.Key{}, false
}

func (m *memStore) Extend(_ context.Context, c *redisrequests.Claim, lease time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errStoreDown
	}
	m.extends++
	k, ok := m.held(c)
	if !ok {
		return redisrequests.ErrClaimLost
	}
	r := m.records[k]
	r.expires = time.Now().Add(lease)
	m.records[k] = r
	return nil
}

func (m *memStore) Finish(_ context.Context, c *redisrequests.Claim, res redisrequests.Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errStoreDown
	}
	k, ok := m.held(c)
	if !ok {
		return redisrequests.ErrClaimLost
	}
	m.records[k] = memRecord{result: &res}
	return nil
}

func (m *memStore) Forget(_ context.Context, c *redisrequests.Claim) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errStoreDown
	}
	k, ok := m.held(c)
	if !ok {
		return redisrequests.ErrClaimLost
	}
	delete(m.records, k)
	return nil
}

func (m *memStore) extendCount() int { m.mu.Lock(); defer m.mu.Unlock(); return m.extends }

// newTestRequests is a replica's request-id log, on store if not nil.
func newTestRequests(t *testing.T, store RequestStore) *requests {
	t.Helper()
	r := &requests{local: newRequestLog(requestIDTTL, maxRequestIDs, time.Now)}
	if store != nil {
		h, err := redishealth.New(redishealth.Options{})
		if err != nil {
			t.Fatal(err)
		}
		r.shared, r.health = store, h
	}
	return r
}

// begun is what one begin returned.
type begun struct {
	claim *requestClaim
	prior requestEntry
	err   error
}

// beginAsync runs begin in the background.
func beginAsync(ctx context.Context, r *requests) <-chan begun {
	ch := make(chan begun, 1)
	go func() {
		c, p, err := r.begin(ctx, testKey)
		ch <- begun{c, p, err}
	}()
	return ch
}

func mustOwn(t *testing.T, r *requests) *requestClaim {
	t.Helper()
	c, _, err := r.begin(t.Context(), testKey)
	if err != nil || c == nil {
		t.Fatalf("begin: claim %v, %v; want to own the id", c, err)
	}
	return c
}

// pending fails the test if ch already has an answer.
func pending(t *testing.T, ch <-chan begun, what string) {
	t.Helper()
	synctest.Wait()
	select {
	case b := <-ch:
		t.Fatalf("%s returned (%+v) while the first request still runs; want it to wait", what, b)
	default:
	}
}

// In one replica a retry waits for the running first request and gets its
// result; if the first fails instead, one waiting retry runs afresh.
func TestLocalRetryWaitsForTheFirst(t *testing.T) {
	for _, store := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var s RequestStore
			if store {
				s = newMemStore()
			}
			r := newTestRequests(t, s)
			first := mustOwn(t, r)
			retry := beginAsync(t.Context(), r)
			time.Sleep(time.Minute) // a long upload
			pending(t, retry, "the retry")
			r.finish(t.Context(), first, "fp", "imp_1")
			if b := <-retry; b.err != nil || b.claim != nil || b.prior.resultID != "imp_1" || b.prior.fingerprint != "fp" {
				t.Fatalf("retry after the first finished: %+v; want its result", b)
			}

			// A failed first request: the waiting retry becomes the owner.
			other := requestKey{account: "demo", kind: "report", id: "req-2"}
			c, _, _ := r.begin(t.Context(), other)
			ch := make(chan *requestClaim, 1)
			go func() { c2, _, _ := r.begin(t.Context(), other); ch <- c2 }()
			synctest.Wait()
			r.forget(t.Context(), c)
			c2 := <-ch
			if c2 == nil {
				t.Fatal("the retry waiting for a failed request did not get to run it")
			}
			r.forget(t.Context(), c2)
		})
	}
}

// A retry whose deadline comes before the first request finishes is
// ABORTED (REQUEST_IN_PROGRESS) at its deadline, having claimed nothing.
func TestRetryDeadlineWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTestRequests(t, newMemStore())
		first := mustOwn(t, r)
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		c, _, err := r.begin(ctx, testKey)
		if c != nil || status.Code(err) != codes.Aborted {
			t.Fatalf("retry past its deadline: claim %v, %v; want ABORTED", c, err)
		}
		if waited := time.Since(start); waited < 3*time.Second || waited > 3*time.Second+requestPollMax {
			t.Errorf("the retry gave up after %v, want its 3s deadline", waited)
		}
		r.finish(t.Context(), first, "fp", "imp_1")
	})
}

// Two replicas on one store: the second's retry polls the first's claim
// and gets its result; the first's claim is renewed while its request runs
// (so a long upload keeps it) and no longer once it finished.
func TestSharedClaimAcrossReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemStore()
		a, b := newTestRequests(t, store), newTestRequests(t, store)
		first := mustOwn(t, a)
		if first.shared == nil {
			t.Fatal("the claim is not in the shared store")
		}
		retry := beginAsync(t.Context(), b)
		time.Sleep(5 * requestLease) // far past one lease
		pending(t, retry, "the other replica's retry")
		if n := store.extendCount(); n < int(5*requestLease/requestRenewEvery)-1 {
			t.Errorf("%d renewals in 5 leases, want one every %v", n, requestRenewEvery)
		}
		a.finish(t.Context(), first, "fp", "imp_A")
		if got := <-retry; got.claim != nil || got.prior.resultID != "imp_A" {
			t.Fatalf("B's retry: %+v; want A's import", got)
		}
		n := store.extendCount()
		time.Sleep(5 * requestLease)
		if store.extendCount() != n {
			t.Error("the claim was still renewed after the request finished")
		}
	})
}

// A replica that dies mid-request stops renewing: its claim runs out
// within a lease and a waiting retry on another replica runs the request.
func TestSharedClaimOfADeadReplicaRunsOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemStore()
		a, b := newTestRequests(t, store), newTestRequests(t, store)
		first := mustOwn(t, a)
		first.stop() // the process is gone: no more renewals
		start := time.Now()
		got := <-beginAsync(t.Context(), b)
		if got.claim == nil || got.err != nil {
			t.Fatalf("B's retry: %+v; want B to run the request", got)
		}
		if waited := time.Since(start); waited > requestLease+requestPollMax {
			t.Errorf("B waited %v, want at most a lease (%v) and a poll", waited, requestLease)
		}
		b.finish(t.Context(), got.claim, "fp", "imp_B")
	})
}

// With the store down a replica claims and records in its own log; a
// result the store could not take is kept locally; either way the replica
// answers retries from its own log once the store is back, rather than
// running the request again.
func TestStoreDownFallsBackToLocalLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemStore()
		r := newTestRequests(t, store)

		store.setDown(true)
		c := mustOwn(t, r)
		if c.shared != nil {
			t.Fatal("claimed in a store that is down")
		}
		r.finish(t.Context(), c, "fp", "imp_local")

		store.setDown(false)
		other := requestKey{account: "demo", kind: "import", id: "req-2"}
		c2, _, err := r.begin(t.Context(), other)
		if err != nil || c2 == nil || c2.shared == nil {
			t.Fatalf("claim with the store up: %+v, %v", c2, err)
		}
		store.setDown(true) // down while the request ran
		r.finish(t.Context(), c2, "fp2", "imp_2")
		store.setDown(false)
		time.Sleep(redishealth.DefaultRetryAfter) // the breaker lets a try through

		for _, k := range []struct {
			key  requestKey
			want string
		}{{testKey, "imp_local"}, {other, "imp_2"}} {
			c, prior, err := r.begin(t.Context(), k.key)
			if err != nil || c != nil || prior.resultID != k.want {
				t.Errorf("retry of %s with the store back: claim %v, %+v, %v; want %s", k.key.id, c, prior, err, k.want)
			}
		}
	})
}
