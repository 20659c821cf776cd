package auth_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	"github.com/eeo-gateway/eeo-gateway/auth/redisstore"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
)

// The same scenarios as shared_test.go, against a real redis-server
// (redistest: fails in CI without one): each replica has its own client
// and store, as separate processes would.

var redisKey = bytes.Repeat([]byte{0x42}, redisstore.KeySize)

// redisStore returns a replica's store on the server at addr. It does not
// retry, so a stopped server is an error at once.
func redisStore(t testing.TB, addr string) *redisstore.Store {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	s, err := redisstore.New(redisstore.Options{Client: c, Key: redisKey})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// redisReplicas returns n Caches for "demo", each with its own store on
// srv, fetching from f.
func redisReplicas(t *testing.T, n int, srv *redistest.Server, f auth.Fetcher, opts auth.Options) []*auth.Cache {
	t.Helper()
	out := make([]*auth.Cache, n)
	for i := range out {
		o := opts
		o.Shared = redisStore(t, srv.Addr)
		out[i] = newCache(t, f, o)
	}
	return out
}

// manualClock is an injected clock (Options.Now) that tests move by hand;
// Redis's own TTLs only see times ahead of the real clock, so they do not
// interfere.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRedisReplicasShareOneFetch(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	f := &authtest.Fetcher{ExpiresIn: time.Hour}
	release := f.Hold()
	defer release()
	rs := redisReplicas(t, 3, srv, f, auth.Options{SharedPoll: 10 * time.Millisecond})
	const callers = 300
	var wg sync.WaitGroup
	errs := make([]error, callers)
	got := make([]string, callers)
	for i := range callers {
		wg.Go(func() {
			tok, err := rs[i%len(rs)].Token(t.Context(), "demo")
			got[i], errs[i] = tok.AccessToken.Reveal(), err
		})
	}
	// Hold the one request until every replica is waiting for a token, so
	// the other two are seen waiting on the lock, not arriving after.
	for waiting := 0; waiting < len(rs); {
		waiting = 0
		for _, c := range rs {
			if c.Accounts()[0].State == auth.StateRefreshing {
				waiting++
			}
		}
		time.Sleep(time.Millisecond) // polling for a state, no timing rides on it
	}
	release()
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i] != "tok-1" {
			t.Fatalf("caller %d: %q, %v; want tok-1", i, got[i], errs[i])
		}
	}
	if n := f.Calls(); n != 1 {
		t.Fatalf("%d callers on 3 replicas sharing Redis caused %d token requests, want 1", callers, n)
	}
}

// A holder that took the lock and died: the replica takes over once the
// lock's TTL has passed on the Redis server, not before, and a caller with
// an earlier deadline gets DeadlineExceeded.
func TestRedisDeadLockHolderIsReplacedAfterTheLockTTL(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	start := time.Now()
	const ttl = 500 * time.Millisecond
	if l, err := redisStore(t, srv.Addr).Lock(t.Context(), "demo", ttl); err != nil || !l.Held {
		t.Fatalf("dead holder's Lock = %+v, %v", l, err)
	}
	f := &authtest.Fetcher{}
	c := redisReplicas(t, 1, srv, f, auth.Options{SharedPoll: 20 * time.Millisecond})[0]
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Token(short, "demo"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller with a deadline before the lock's expiry: %v, want DeadlineExceeded", err)
	}
	if got := tokenOf(t, c); got != "tok-1" {
		t.Fatalf("token %q, want tok-1", got)
	}
	if waited := time.Since(start); waited < ttl {
		t.Errorf("token after %v: the dead holder's %v lock was taken over early", waited, ttl)
	}
	if n := f.Calls(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestRedisStaleRejectionKeepsAnotherReplicasNewerToken(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	f := &authtest.Fetcher{}
	rs := redisReplicas(t, 2, srv, f, auth.Options{})
	a, b := rs[0], rs[1]
	old := mustToken(t, a)
	if got := tokenOf(t, b); got != "tok-1" {
		t.Fatalf("B got %q, want A's tok-1", got)
	}
	if _, err := a.Refresh(t.Context(), "demo"); err != nil {
		t.Fatal(err)
	}
	b.Invalidate("demo", old.AccessToken)
	if got := tokenOf(t, b); got != "tok-2" {
		t.Fatalf("B after a late 401 for tok-1 serves %q, want A's tok-2", got)
	}
	if n := f.Calls(); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

// The shared idle deadline follows A's use on B; A's refresh and B's 401
// reach the other replica in one sync round.
func TestRedisSyncSharesUseRefreshAndInvalidation(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	clk := &manualClock{now: time.Now()}
	f := &authtest.Fetcher{}
	rs := redisReplicas(t, 2, srv, f, auth.Options{Now: clk.Now})
	a, b := rs[0], rs[1]
	mustToken(t, a)
	mustToken(t, b)
	for range 12 { // two hours of use on A only
		clk.Advance(10 * time.Minute)
		mustToken(t, a)
		auth.SyncShared(a)
		auth.SyncShared(b)
	}
	st := b.Accounts()[0]
	if want := clk.Now().Add(3599*time.Second - 30*time.Second); st.State != auth.StateFresh || !st.IdleDeadline.Truncate(time.Millisecond).Equal(want.Truncate(time.Millisecond)) {
		t.Fatalf("B: %v, idle deadline %v; want fresh until %v (A's last use)", st.State, st.IdleDeadline, want)
	}

	if _, err := a.Refresh(t.Context(), "demo"); err != nil {
		t.Fatal(err)
	}
	auth.SyncShared(b)
	if got := tokenOf(t, b); got != "tok-2" {
		t.Fatalf("B after one sync round serves %q, want A's refreshed tok-2", got)
	}
	if s := b.Stats()[0]; s.Misses != 1 {
		t.Errorf("B had %d misses, want 1: use and refresh must reach it off the hit path", s.Misses)
	}

	b.Invalidate("demo", auth.NewSecret("tok-2"))
	auth.SyncShared(a)
	if st := a.Accounts()[0].State; st != auth.StateNone {
		t.Fatalf("A after one sync round holds a token B saw rejected (%v)", st)
	}
	if n := f.Calls(); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

// Redis stopped: no call fails, the replica works alone and says so;
// Redis back (empty): the replicas drop their private tokens and share one
// request again.
func TestRedisOutageFallsBackToLocalAndRecovers(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	f := &authtest.Fetcher{ExpiresIn: time.Hour}
	rs := redisReplicas(t, 2, srv, f, auth.Options{})
	a, b := rs[0], rs[1]
	mustToken(t, a)
	mustToken(t, b)

	srv.Stop(t)
	for _, c := range rs {
		c.Reset("demo") // a miss next, with Redis gone
		if _, err := c.Token(t.Context(), "demo"); err != nil {
			t.Fatalf("Token with Redis stopped: %v", err)
		}
		if s := c.SharedStatus(); s.Up {
			t.Fatalf("status with Redis stopped: %+v, want down", s)
		}
	}
	if n := f.Calls(); n != 3 {
		t.Fatalf("%d token requests, want 3 (each replica fetched alone)", n)
	}

	srv.Restart(t)
	for _, c := range rs {
		// The first call may meet a pooled connection the old server closed.
		for i := 0; !c.SharedStatus().Up; i++ {
			if i == 10 {
				t.Fatal("the replica did not see Redis come back")
			}
			auth.SyncShared(c)
		}
	}
	for _, c := range rs {
		auth.SyncShared(c) // drops the private token Redis does not hold
	}
	ta, tb := tokenOf(t, a), tokenOf(t, b)
	if ta != tb || f.Calls() != 4 {
		t.Fatalf("after Redis returned: A %q, B %q, %d requests; want one shared token from 1 more request", ta, tb, f.Calls())
	}
}

// With Redis's change channel, a refresh on A reaches B long before B's
// sync round (25 s here): B serves the new token within a few round trips.
func TestRedisNoticesPropagateRefreshAtOnce(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	f := &authtest.Fetcher{ExpiresIn: time.Hour}
	rs := redisReplicas(t, 2, srv, f, auth.Options{SharedSyncInterval: 25 * time.Second})
	a, b := rs[0], rs[1]
	mustToken(t, a)
	mustToken(t, b)
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer raw.Close()
	const channel = "eeo-gateway:token-changes"
	for raw.PubSubNumSub(t.Context(), channel).Val()[channel] < 2 {
		time.Sleep(time.Millisecond) // waiting for both subscriptions, not for time
	}
	start := time.Now()
	fresh, err := a.Refresh(t.Context(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	for b.Accounts()[0].Fingerprint != fresh.Fingerprint {
		if time.Since(start) > 10*time.Second {
			t.Fatal("B did not pick up A's refresh within 10s, with its sync round 25s away")
		}
		time.Sleep(time.Millisecond)
	}
	if got := tokenOf(t, b); got != "tok-2" {
		t.Fatalf("B serves %q, want tok-2", got)
	}
}
