package multiprocess_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	// lockFetchTimeout is the replicas' token.fetch_timeout. The cache's
	// fetch lock lasts the fetch timeout plus two store calls (2 × 500ms)
	// plus a second, so a live holder always stores before its lock runs
	// out: 4s here.
	lockFetchTimeout = 2 * time.Second
	// shortDeadline is the deadline of callers who cannot wait for a dead
	// holder's lock to run out.
	shortDeadline = 300 * time.Millisecond
	// deadlineSlack is how much later than its deadline a call may end on
	// the replica: scheduling on a loaded CI machine, not waiting.
	deadlineSlack = 1500 * time.Millisecond
)

// A replica that dies holding the fetch lock (its process SIGKILLed while
// its token request is at EEO) holds up the others only until the lock's
// TTL runs out: then another replica takes the lock with a newer fence,
// fetches, and its callers get the token; callers whose deadline is
// shorter than that wait get DEADLINE_EXCEEDED at their deadline, on the
// replica as well as at the client.
func TestKilledLockHolderIsReplacedAfterTheLockTTL(t *testing.T) {
	t.Parallel()
	c := newCluster(t, clusterOptions{Replicas: 2, Redis: true,
		TokenYAML: fmt.Sprintf("  fetch_timeout: %s", lockFetchTimeout)})
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.Addr})
	t.Cleanup(func() { rdb.Close() })
	const lockKey, tokenKey = "mp:{" + account + "}:lock", "mp:{" + account + "}:token"
	a, b := c.gateways[0], c.gateways[1]

	// A's token request stays at EEO far longer than the test.
	c.sandbox.setFaults(t, faults{Token: fault{Latency: "1h"}})
	aCtx, aCancel := context.WithCancel(t.Context())
	defer aCancel()
	aDone := make(chan error, 1)
	go func() {
		_, err := c.getToken(aCtx, a)
		aDone <- err
	}()
	c.eventually("A's token request to reach EEO", func() bool { return c.sandbox.stats(t).TokenRequests == 1 })
	fence, err := rdb.Get(t.Context(), lockKey).Result()
	if err != nil {
		t.Fatalf("A's token request is at EEO but the fetch lock %s is not held: %v", lockKey, err)
	}
	asked := time.Now()
	lockLeft, err := rdb.PTTL(t.Context(), lockKey).Result()
	if err != nil || lockLeft <= 0 {
		t.Fatalf("fetch lock %s has TTL %v (%v); want a lock that expires", lockKey, lockLeft, err)
	}
	// Redis measured the TTL after we asked, so the lock lives at least
	// until then.
	lockLives := asked.Add(lockLeft)

	// B's callers arrive while A holds the lock; then A dies mid-fetch and
	// EEO answers at once again.
	type result struct {
		fp      string
		err     error
		at      time.Time // when the call returned
		elapsed time.Duration
	}
	long := make([]result, 20)
	short := make([]result, 5)
	var wg sync.WaitGroup
	killed := time.Now()
	for i := range long {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), pollTimeout)
			defer cancel()
			tok, err := c.getToken(ctx, b)
			long[i] = result{fp: tok.GetFingerprint(), err: err, at: time.Now(), elapsed: time.Since(killed)}
		})
	}
	for i := range short {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), shortDeadline)
			defer cancel()
			ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", "short-"+strconv.Itoa(i))
			start := time.Now()
			_, err := c.getToken(ctx, b)
			short[i] = result{err: err, elapsed: time.Since(start)}
		})
	}
	a.kill()
	c.sandbox.setFaults(t, faults{})
	wg.Wait()
	if err := <-aDone; status.Code(err) != codes.Unavailable {
		t.Logf("A's caller, whose replica died: %v", err)
	}

	var fp string
	for i, r := range long {
		if r.err != nil {
			t.Fatalf("B's caller %d (deadline %v): %v after %v; want the token once A's lock ran out", i, pollTimeout, r.err, r.elapsed)
		}
		if fp != "" && r.fp != fp {
			t.Fatalf("B's callers got tokens %s and %s; want one", fp, r.fp)
		}
		fp = r.fp
		// B cannot know A died: it must not fetch while A's lock lives.
		if r.at.Before(lockLives) {
			t.Errorf("B's caller %d got a token %v before A's lock ran out", i, lockLives.Sub(r.at))
		}
	}
	slowest := slices.MaxFunc(long, func(x, y result) int { return cmp.Compare(x.elapsed, y.elapsed) })
	t.Logf("A's lock (fence %s) had %v left; B's callers got the token %v after A was killed", fence, lockLeft, slowest.elapsed)
	st := c.sandbox.stats(t)
	if st.TokenRequests != 2 || st.TokensIssued != 1 {
		t.Errorf("after A died mid-fetch and B took over: %s; want 2 token requests (A's, unanswered, and B's) and 1 token issued", statsLine(st))
	}
	stored, err := rdb.HGet(t.Context(), tokenKey, "fence").Result()
	if err != nil {
		t.Fatalf("shared token after B's fetch: %v", err)
	}
	if n, m := mustInt(t, stored), mustInt(t, fence); n <= m {
		t.Errorf("B stored the token under fence %d, A's lock had fence %d: want a newer one", n, m)
	}

	for i, r := range short {
		if status.Code(r.err) != codes.DeadlineExceeded || r.elapsed > shortDeadline+deadlineSlack {
			t.Errorf("B's caller with deadline %v: %v after %v; want DEADLINE_EXCEEDED at its deadline", shortDeadline, r.err, r.elapsed)
		}
		// The client stops waiting at its deadline whatever the replica
		// does; the replica's access log says whether it stopped too.
		code, took := finishedCall(t, c, b, "short-"+strconv.Itoa(i))
		if took > shortDeadline+deadlineSlack {
			t.Errorf("replica B ended the call with deadline %v after %v (%s): it waited past the deadline", shortDeadline, took, code)
		}
	}
}

// finishedCall waits for g's access-log line of the call with this
// request id and returns its code and duration.
func finishedCall(t *testing.T, c *cluster, g *gateway, requestID string) (code string, took time.Duration) {
	t.Helper()
	c.eventually("the access log line of call "+requestID, func() bool {
		for line := range strings.Lines(g.stderr.String()) {
			if !strings.Contains(line, `"msg":"finished call"`) || !strings.Contains(line, `"request_id":"`+requestID+`"`) {
				continue
			}
			var l struct {
				Code     string `json:"grpc.code"`
				Duration string `json:"grpc.duration"`
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("access log line %q: %v", line, err)
			}
			d, err := time.ParseDuration(l.Duration)
			if err != nil {
				t.Fatalf("access log line %q: duration: %v", line, err)
			}
			code, took = l.Code, d
			return true
		}
		return false
	})
	return code, took
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
