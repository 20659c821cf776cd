package multiprocess_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// redisStores are the values of eeo_gateway_redis_up's store label.
var redisStores = []string{"tokens", "requests"}

// Redis stopped under a GetToken load fails no GetToken: the replicas
// serve their cached token, and one whose token is dropped during the
// outage fetches from EEO alone. Each replica reports the outage on
// eeo_gateway_redis_up and in one log line per store and transition,
// stays ready, and creates reports with a request_id all along.
//
// Redis comes back empty (no persistence, as most caches run), so the
// token the replicas shared is gone from it and each may still hold a
// token of its own. "Sharing resumes" means: once every replica reports
// Redis up, a token every replica has to fetch again (after
// InvalidateToken on each) is fetched from EEO once, not once per
// replica, and every caller on every replica gets that one token.
func TestRedisOutageFailsNoGetTokenAndSharingResumes(t *testing.T) {
	t.Parallel()
	c := newCluster(t, clusterOptions{Replicas: 3, Redis: true})
	if n, err := c.tokenStorm(t.Context(), 50); n != 0 {
		t.Fatalf("%d GetToken calls failed before the outage, e.g. %v", n, err)
	}
	if st := c.sandbox.stats(t); st.TokenRequests != 1 {
		t.Fatalf("before the outage: %s; want the replicas to share 1 token", statsLine(st))
	}

	load := c.startTokenLoad(t.Context(), 2)
	c.eventually("GetToken load running", func() bool { return load.calls.Load() > 100 })

	c.redis.Stop(t)
	c.eventually("every replica reporting Redis down", func() bool { return c.allRedisUp(0) })
	// A token dropped during the outage is fetched from EEO, by this
	// replica alone; the other replicas go on serving theirs.
	before := c.sandbox.stats(t).TokenRequests
	g := c.gateways[0]
	if _, err := g.tokens.InvalidateToken(t.Context(), &eeov1.InvalidateTokenRequest{Account: account}); err != nil {
		t.Fatalf("InvalidateToken with Redis down: %v", err)
	}
	if _, err := c.getToken(t.Context(), g); err != nil {
		t.Fatalf("GetToken after InvalidateToken with Redis down: %v", err)
	}
	if after := c.sandbox.stats(t).TokenRequests; after != before+1 {
		t.Errorf("token requests %d→%d for a token dropped during the outage; want 1 fetch from EEO", before, after)
	}
	for _, g := range c.gateways {
		if !c.ready(g) {
			t.Errorf("gateway-%d is not ready with Redis down; Redis is optional for serving", g.index)
		}
		if _, err := g.files.CreateReport(t.Context(), &eeov1.CreateReportRequest{
			Account: account, ReportType: "participants", RequestId: fmt.Sprintf("outage-%d", g.index),
		}); err != nil {
			t.Errorf("CreateReport on gateway-%d with Redis down: %v", g.index, err)
		}
	}
	calledDuringOutage := load.calls.Load()

	c.redis.Restart(t)
	c.eventually("every replica reporting Redis up again", func() bool { return c.allRedisUp(1) })
	c.eventually("GetToken load running after Redis returned", func() bool { return load.calls.Load() > calledDuringOutage+100 })
	calls, failed, firstErr := load.stop()
	t.Logf("GetToken load across the outage: %d calls, %d failed", calls, failed)
	if failed != 0 {
		t.Errorf("%d of %d GetToken calls failed across the Redis outage, e.g. %v", failed, calls, firstErr)
	}
	// The log lines travel through a pipe of their own, so they may
	// arrive after the metric said the same.
	transitions := []string{"shared token store unavailable", "shared token store is back", "redis down", "redis up again"}
	for _, g := range c.gateways {
		c.eventually(fmt.Sprintf("gateway-%d logging each transition", g.index), func() bool {
			out := g.stderr.String()
			for _, msg := range transitions {
				if !strings.Contains(out, `"msg":"`+msg) {
					return false
				}
			}
			return true
		})
		for _, msg := range transitions {
			if n := strings.Count(g.stderr.String(), `"msg":"`+msg); n != 1 {
				t.Errorf("gateway-%d logged %q %d times for one outage; want once", g.index, msg, n)
			}
		}
	}

	// Sharing resumes.
	before = c.sandbox.stats(t).TokenRequests
	for _, g := range c.gateways {
		if _, err := g.tokens.InvalidateToken(t.Context(), &eeov1.InvalidateTokenRequest{Account: account}); err != nil {
			t.Fatalf("InvalidateToken on gateway-%d: %v", g.index, err)
		}
	}
	fps := c.tokenFingerprints(t, 50)
	if after := c.sandbox.stats(t).TokenRequests; after != before+1 || len(fps) != 1 {
		t.Errorf("after Redis returned, a token every replica needed: %d token requests, %d distinct tokens handed out; want 1 and 1", after-before, len(fps))
	}
}

// allRedisUp reports whether every replica's eeo_gateway_redis_up reads
// want for every store.
func (c *cluster) allRedisUp(want float64) bool {
	for _, g := range c.gateways {
		m := c.metrics(g)
		for _, store := range redisStores {
			if v, ok := m.Value("eeo_gateway_redis_up", "store", store); !ok || v != want {
				return false
			}
		}
	}
	return true
}

// tokenFingerprints sends perReplica concurrent GetToken calls to every
// replica and returns the fingerprints handed out; a failed call fails the
// test.
func (c *cluster) tokenFingerprints(t *testing.T, perReplica int) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	fps := map[string]bool{}
	var wg sync.WaitGroup
	for _, g := range c.gateways {
		for range perReplica {
			wg.Go(func() {
				tok, err := c.getToken(t.Context(), g)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("GetToken on gateway-%d: %v", g.index, err)
					return
				}
				fps[tok.GetFingerprint()] = true
			})
		}
	}
	wg.Wait()
	return fps
}

// tokenLoad is GetToken calls on every replica, paced, until stopped.
type tokenLoad struct {
	calls, failed atomic.Int64
	cancel        context.CancelFunc
	wg            sync.WaitGroup

	mu       sync.Mutex
	firstErr error // guarded by mu
}

// startTokenLoad starts workers per replica, each calling GetToken every
// few milliseconds (the pace only keeps the load from eating the CPU the
// replicas need).
func (c *cluster) startTokenLoad(ctx context.Context, workers int) *tokenLoad {
	ctx, cancel := context.WithCancel(ctx)
	l := &tokenLoad{cancel: cancel}
	for _, g := range c.gateways {
		for range workers {
			l.wg.Go(func() {
				tick := time.NewTicker(10 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
					// Each call has its own deadline, well inside which the
					// replica must answer; the load's end is not a failure.
					callCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
					_, err := c.getToken(callCtx, g)
					done()
					l.calls.Add(1)
					if err != nil {
						l.failed.Add(1)
						l.mu.Lock()
						if l.firstErr == nil {
							l.firstErr = fmt.Errorf("gateway-%d: %w", g.index, err)
						}
						l.mu.Unlock()
					}
				}
			})
		}
	}
	return l
}

// stop ends the load and returns its counts.
func (l *tokenLoad) stop() (calls, failed int64, first error) {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls.Load(), l.failed.Load(), l.firstErr
}

// A Redis that hangs (its process frozen: connections open, nothing
// answered) is worse than one that is gone, since only timeouts reveal
// it. Replicas in front of it fail no GetToken, fetch a dropped token
// from EEO, and create reports with a request_id, each call within a
// deadline far shorter than anything Redis would answer in; and they
// report Redis up again once it answers.
func TestHungRedisFailsNoGetTokenOrCreateReport(t *testing.T) {
	t.Parallel()
	c := newCluster(t, clusterOptions{Replicas: 2, Redis: true})
	if n, err := c.tokenStorm(t.Context(), 20); n != 0 {
		t.Fatalf("%d GetToken calls failed before Redis hung, e.g. %v", n, err)
	}
	load := c.startTokenLoad(t.Context(), 2)
	c.eventually("GetToken load running", func() bool { return load.calls.Load() > 50 })

	c.redis.Pause(t)
	t.Cleanup(func() { c.redis.Resume(t) }) // so that cleanup can stop it
	// Callers that would wait for Redis fail here; the gateway must answer
	// from its memory or EEO well within this.
	const callDeadline = 5 * time.Second
	g := c.gateways[0]
	ctx, cancel := context.WithTimeout(t.Context(), callDeadline)
	defer cancel()
	if _, err := g.tokens.InvalidateToken(ctx, &eeov1.InvalidateTokenRequest{Account: account}); err != nil {
		t.Fatalf("InvalidateToken with Redis hung: %v", err)
	}
	if _, err := c.getToken(ctx, g); err != nil {
		t.Fatalf("GetToken of a dropped token with Redis hung: %v", err)
	}
	var wg sync.WaitGroup
	for _, g := range c.gateways {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), callDeadline)
			defer cancel()
			if _, err := g.files.CreateReport(ctx, &eeov1.CreateReportRequest{
				Account: account, ReportType: "participants", RequestId: fmt.Sprintf("hung-%d", g.index),
			}); err != nil {
				t.Errorf("CreateReport on gateway-%d with Redis hung: %v", g.index, err)
			}
		})
	}
	wg.Wait()
	c.eventually("every replica reporting Redis down", func() bool { return c.allRedisUp(0) })

	c.redis.Resume(t)
	c.eventually("every replica reporting Redis up again", func() bool { return c.allRedisUp(1) })
	calls, failed, firstErr := load.stop()
	t.Logf("GetToken load while Redis hung: %d calls, %d failed", calls, failed)
	if failed != 0 {
		t.Errorf("%d of %d GetToken calls failed while Redis hung, e.g. %v", failed, calls, firstErr)
	}
}
