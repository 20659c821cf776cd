package auth_test

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
)

func TestStatsCountEveryPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: time.Hour}
		c := newCache(t, f, auth.Options{IdleTimeout: 10 * time.Minute, IdleMargin: time.Minute, BackoffInitial: time.Second})
		stats := func() auth.AccountStats { return c.Stats()[0] }

		// Cold: one miss, one successful fetch; then two hits.
		tok := mustToken(t, c)
		mustToken(t, c)
		mustToken(t, c)
		s := stats()
		if s.Misses != 1 || s.Hits != 2 || s.FetchResults[auth.FetchReasonOK] != 1 || !s.HasToken {
			t.Fatalf("after cold call and two hits: %+v", s)
		}
		if got := s.ExpiresAt.Sub(time.Now()); got != 59*time.Minute {
			t.Errorf("expiry in %v, want 59m (1h less the 60s margin)", got)
		}
		if got := s.IdleDeadline.Sub(time.Now()); got != 9*time.Minute {
			t.Errorf("idle deadline in %v, want 9m (10m less the 1m margin)", got)
		}

		// Callers that wait for a fetch another started are "joined".
		c.Drop("demo")
		release := f.Hold()
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { mustToken(t, c) })
		}
		synctest.Wait()
		release()
		wg.Wait()
		s = stats()
		if s.Joined != 2 || s.Misses != 4 || s.Invalidations[auth.CauseInvalidated] != 1 {
			t.Fatalf("after 3 concurrent cold callers: joined %d misses %d invalidated %d, want 2, 4, 1", s.Joined, s.Misses, s.Invalidations[auth.CauseInvalidated])
		}

		// Idle: the next caller finds the token stale, counted once.
		time.Sleep(9*time.Minute + time.Second)
		mustToken(t, c)
		if s = stats(); s.Invalidations[auth.CauseIdle] != 1 {
			t.Fatalf("idle invalidations = %d, want 1", s.Invalidations[auth.CauseIdle])
		}

		// A 401 from EEO, and a secret rotation.
		cur := mustToken(t, c)
		c.Invalidate("demo", tok.AccessToken) // stale: not counted
		c.Invalidate("demo", cur.AccessToken)
		mustToken(t, c)
		c.Reset("demo")
		s = stats()
		if s.Invalidations[auth.CauseRejected] != 1 || s.Invalidations[auth.CauseSecretRotated] != 1 || s.HasToken {
			t.Fatalf("invalidations = %v, has token %v", s.Invalidations, s.HasToken)
		}

		// Failures by kind, and calls refused during the backoff.
		f.Fail(errEEODown)
		c.Token(t.Context(), "demo")
		c.Token(t.Context(), "demo")
		s = stats()
		if s.FetchResults["unavailable"] != 1 || s.BackoffRejections != 1 {
			t.Fatalf("fetch results %v, backoff rejections %d", s.FetchResults, s.BackoffRejections)
		}
		for _, r := range auth.FetchReasons() {
			if _, ok := s.FetchResults[r]; !ok {
				t.Errorf("FetchResults lacks %q", r)
			}
		}
	})
}

func TestStatsCountBackgroundRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: 10 * time.Minute}
		c := newCache(t, f, auth.Options{ExpiryMargin: time.Second})
		mustToken(t, c)
		time.Sleep(9 * time.Minute) // into the last fifth of its life
		mustToken(t, c)
		synctest.Wait()
		if s := c.Stats()[0]; s.BackgroundRefreshes != 1 || s.FetchResults[auth.FetchReasonOK] != 2 || s.Hits != 1 {
			t.Fatalf("stats = %+v, want one background refresh, two fetches, one hit", s)
		}
	})
}

// TestHitsCountedExactlyFromEveryCore: hits are counted per core and summed
// when read; none may be lost or credited to another account, whatever the
// number of accounts or of goroutines hitting at once.
func TestHitsCountedExactlyFromEveryCore(t *testing.T) {
	const accounts, goroutines = 40, 8 // more accounts than share a cache line
	var list []auth.Account
	for i := range accounts {
		list = append(list, auth.Account{Name: fmt.Sprintf("acct-%02d", i), Fetcher: &authtest.Fetcher{ExpiresIn: time.Hour}})
	}
	c, err := auth.NewCache(list, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i, a := range list {
				for range i + g%2 { // account i: i or i+1 calls per goroutine
					if _, err := c.Token(t.Context(), a.Name); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for i, s := range c.Stats() {
		calls := int64(goroutines*i + goroutines/2)
		if s.Hits+s.Misses != calls || s.Misses < 1 {
			t.Errorf("%s: %d hits + %d misses, want %d calls and at least the cold miss", s.Name, s.Hits, s.Misses, calls)
		}
	}
}
