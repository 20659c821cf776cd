package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
)

var errEEODown = &auth.TokenError{Kind: auth.KindUnavailable, StatusCode: 503}

func newCache(t *testing.T, f auth.Fetcher, opts auth.Options) *auth.Cache {
	t.Helper()
	c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: f}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func mustToken(t *testing.T, c *auth.Cache) auth.Token {
	t.Helper()
	tok, err := c.Token(t.Context(), "demo")
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

func TestTokenIsCachedAndCarriesItsDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: time.Hour}
		c := newCache(t, f, auth.Options{})
		start := time.Now()
		first := mustToken(t, c)
		second := mustToken(t, c)
		if f.Calls() != 1 || !first.AccessToken.Equal(second.AccessToken) {
			t.Fatalf("two calls made %d fetches, tokens equal=%v; want 1 fetch, same token", f.Calls(), first.AccessToken.Equal(second.AccessToken))
		}
		if first.AccessToken.Reveal() != "tok-1" || first.TokenType != "Bearer" || first.Account != "demo" {
			t.Errorf("token = %+v", first)
		}
		if want := start.Add(time.Hour - time.Minute); !first.ExpiresAt.Equal(want) {
			t.Errorf("ExpiresAt = %v, want expires_in less the 1m margin = %v", first.ExpiresAt, want)
		}
		if want := start.Add(3599*time.Second - 30*time.Second); !first.IdleDeadline.Equal(want) {
			t.Errorf("IdleDeadline = %v, want %v", first.IdleDeadline, want)
		}
		if first.Fingerprint != auth.Fingerprint(auth.NewSecret("tok-1")) || len(first.Fingerprint) != 16 {
			t.Errorf("Fingerprint = %q", first.Fingerprint)
		}
	})
}

func TestConcurrentColdCallersShareOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		release := f.Hold()
		c := newCache(t, f, auth.Options{})
		const callers = 1000
		var wg sync.WaitGroup
		tokens := make([]auth.Token, callers)
		errs := make([]error, callers)
		for i := range callers {
			wg.Go(func() { tokens[i], errs[i] = c.Token(t.Context(), "demo") })
		}
		synctest.Wait() // every caller is waiting on the one fetch
		release()
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || tokens[i].AccessToken.Reveal() != "tok-1" {
				t.Fatalf("caller %d: token %q, err %v", i, tokens[i].AccessToken.Reveal(), errs[i])
			}
		}
		if n := f.Calls(); n != 1 {
			t.Fatalf("%d callers caused %d token requests, want 1", callers, n)
		}
	})
}

func TestCancelledLeaderDoesNotFailWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		release := f.Hold()
		c := newCache(t, f, auth.Options{})

		leaderCtx, cancelLeader := context.WithCancel(t.Context())
		leaderErr := make(chan error, 1)
		go func() { _, err := c.Token(leaderCtx, "demo"); leaderErr <- err }()
		synctest.Wait() // the leader's fetch is in flight

		const waiters = 5
		results := make(chan error, waiters)
		for range waiters {
			go func() {
				tok, err := c.Token(t.Context(), "demo")
				if err == nil && tok.AccessToken.Reveal() != "tok-1" {
					err = fmt.Errorf("got %q", tok.AccessToken.Reveal())
				}
				results <- err
			}()
		}
		synctest.Wait()
		cancelLeader()
		if err := <-leaderErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("leader error = %v, want context.Canceled", err)
		}
		release()
		for range waiters {
			if err := <-results; err != nil {
				t.Fatalf("waiter failed after the leader gave up: %v", err)
			}
		}
		if n := f.Calls(); n != 1 {
			t.Fatalf("token requests = %d, want 1", n)
		}
	})
}

func TestCallerWaitsNoLongerThanItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		release := f.Hold()
		defer release()
		c := newCache(t, f, auth.Options{FetchTimeout: time.Minute})
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Token(ctx, "demo")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Second {
			t.Fatalf("err = %v after %v, want DeadlineExceeded after 2s", err, time.Since(start))
		}
	})
}

func TestFetchTimeoutBoundsDetachedFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		release := f.Hold()
		defer release()
		c := newCache(t, f, auth.Options{FetchTimeout: 10 * time.Second})
		_, err := c.Token(t.Context(), "demo")
		var te *auth.TokenError
		if !errors.As(err, &te) || te.Kind != auth.KindTimeout {
			t.Fatalf("err = %v, want a KindTimeout TokenError", err)
		}
	})
}

func TestIdleTokenIsReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{} // no expires_in: only the idle rule and the 12h cap apply
		c := newCache(t, f, auth.Options{})
		mustToken(t, c)
		time.Sleep(3599 * time.Second)
		if got := mustToken(t, c).AccessToken.Reveal(); got != "tok-2" {
			t.Fatalf("after 3599s unused got %q, want a new token tok-2", got)
		}
	})
}

func TestIdleMarginBoundary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		c := newCache(t, f, auth.Options{IdleTimeout: 100 * time.Second, IdleMargin: 10 * time.Second})
		mustToken(t, c)
		time.Sleep(90*time.Second - time.Nanosecond)
		if got := mustToken(t, c).AccessToken.Reveal(); got != "tok-1" {
			t.Fatalf("just inside the margin got %q, want tok-1", got)
		}
		time.Sleep(90 * time.Second) // measured from the use just made
		if got := mustToken(t, c).AccessToken.Reveal(); got != "tok-2" {
			t.Fatalf("at idle timeout less margin got %q, want tok-2", got)
		}
	})
}

func TestUseSlidesIdleDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		c := newCache(t, f, auth.Options{})
		first := mustToken(t, c)
		for range 6 { // a use every 3000s for 5 hours
			time.Sleep(3000 * time.Second)
			if got := mustToken(t, c); !got.AccessToken.Equal(first.AccessToken) {
				t.Fatalf("after %v a used token was replaced", time.Since(first.IssuedAt))
			}
		}
		if n := f.Calls(); n != 1 {
			t.Fatalf("token requests over 5h of regular use = %d, want 1", n)
		}
	})
}

func TestExpiresInHonouredWithClampedMargin(t *testing.T) {
	for _, tc := range []struct {
		expiresIn, wantLifetime time.Duration
	}{
		{time.Hour, time.Hour - time.Minute},
		{4 * time.Second, 3 * time.Second}, // margin clamped to a quarter
		{24 * time.Hour, 12 * time.Hour},   // capped by MaxLifetime
		{0, 12 * time.Hour},                // none reported: MaxLifetime, not forever
	} {
		t.Run(tc.expiresIn.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &authtest.Fetcher{ExpiresIn: tc.expiresIn}
				c := newCache(t, f, auth.Options{IdleTimeout: 48 * time.Hour})
				tok := mustToken(t, c)
				if got := tok.ExpiresAt.Sub(tok.IssuedAt); got != tc.wantLifetime {
					t.Fatalf("lifetime = %v, want %v", got, tc.wantLifetime)
				}
				time.Sleep(tc.wantLifetime - time.Nanosecond)
				synctest.Wait() // let any background refresh finish
				before := f.Calls()
				time.Sleep(time.Nanosecond)
				if got := mustToken(t, c); got.AccessToken.Equal(tok.AccessToken) {
					t.Fatal("token served at its expiry")
				}
				if f.Calls() != before+1 {
					t.Fatalf("expected one fetch at expiry")
				}
			})
		})
	}
}

func TestShortLifetimeDoesNotStorm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: time.Second}
		c := newCache(t, f, auth.Options{})
		for range 1000 { // 1000 calls over 10s of 1s tokens
			mustToken(t, c)
			time.Sleep(10 * time.Millisecond)
			synctest.Wait()
		}
		// 0.75s lifetime, refresh at 0.6s: about 17 fetches, nowhere near 1000.
		if n := f.Calls(); n < 10 || n > 25 {
			t.Fatalf("token requests = %d for 10s of 1s tokens, want about 17", n)
		}
	})
}

func TestProactiveRefreshServesOldTokenMeanwhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: 1000 * time.Second}
		c := newCache(t, f, auth.Options{ExpiryMargin: time.Second})
		mustToken(t, c)
		time.Sleep(800 * time.Second) // lifetime/5 before expiry: the refresh window opens
		release := f.Hold()
		for range 50 {
			if got := mustToken(t, c).AccessToken.Reveal(); got != "tok-1" {
				t.Fatalf("during refresh got %q, want the still-valid tok-1", got)
			}
		}
		synctest.Wait()
		if st := c.Accounts()[0].State; st != auth.StateRefreshing {
			t.Errorf("state during refresh = %v, want refreshing", st)
		}
		release()
		synctest.Wait()
		if got := mustToken(t, c).AccessToken.Reveal(); got != "tok-2" {
			t.Fatalf("after refresh got %q, want tok-2", got)
		}
		if n := f.Calls(); n != 2 {
			t.Fatalf("token requests = %d, want 2 (one background refresh)", n)
		}
	})
}

func TestFailedBackgroundRefreshKeepsValidToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: 1000 * time.Second}
		c := newCache(t, f, auth.Options{ExpiryMargin: time.Second})
		mustToken(t, c)
		time.Sleep(900 * time.Second)
		f.Fail(errEEODown)
		for range 20 {
			if got := mustToken(t, c).AccessToken.Reveal(); got != "tok-1" {
				t.Fatalf("got %q, want tok-1 while still valid", got)
			}
			synctest.Wait()
		}
		if n := f.Calls(); n != 2 {
			t.Fatalf("token requests = %d, want 2: one failed refresh, then backoff", n)
		}
	})
}

func TestEEODownBacksOffAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		f.Fail(errEEODown)
		c := newCache(t, f, auth.Options{BackoffInitial: time.Second, BackoffMax: 8 * time.Second})

		_, err := c.Token(t.Context(), "demo")
		var fe *auth.FetchError
		if !errors.As(err, &fe) || fe.Cached || !errors.Is(err, errEEODown) {
			t.Fatalf("first error = %v, want a fresh FetchError wrapping the 503", err)
		}
		if wait := fe.RetryAt.Sub(time.Now()); wait < 500*time.Millisecond || wait > 1500*time.Millisecond {
			t.Fatalf("first backoff = %v, want 1s ±50%%", wait)
		}
		for range 100 { // callers during backoff fail at once, without a request
			_, err := c.Token(t.Context(), "demo")
			if !errors.As(err, &fe) || !fe.Cached {
				t.Fatalf("error during backoff = %v, want the replayed failure", err)
			}
		}
		if n := f.Calls(); n != 1 {
			t.Fatalf("token requests during backoff = %d, want 1", n)
		}

		// Calling every 100ms for a minute: backoff grows to its 8s cap.
		for range 600 {
			time.Sleep(100 * time.Millisecond)
			c.Token(t.Context(), "demo")
		}
		if n := f.Calls(); n < 8 || n > 20 {
			t.Fatalf("token requests in a minute of outage = %d, want ~10 (backoff capped at 8s), not 600", n)
		}
		st := c.Accounts()[0]
		if st.LastError == nil || st.RetryAt.IsZero() || st.State != auth.StateNone {
			t.Fatalf("state while down = %+v", st)
		}

		f.Fail(nil)
		time.Sleep(12 * time.Second) // longer than the largest jittered backoff
		if _, err := c.Token(t.Context(), "demo"); err != nil {
			t.Fatalf("after EEO recovered: %v", err)
		}
		if st := c.Accounts()[0]; st.LastError != nil || !st.RetryAt.IsZero() || st.State != auth.StateFresh {
			t.Fatalf("state after recovery = %+v", st)
		}

		// A success starts the schedule over: the next outage backs off
		// from the initial pause, not from the cap the last one reached.
		f.Fail(errEEODown)
		c.Drop("demo")
		if _, err := c.Token(t.Context(), "demo"); !errors.As(err, &fe) || fe.Cached {
			t.Fatalf("error of the next outage = %v, want a fresh FetchError", err)
		}
		if wait := fe.RetryAt.Sub(time.Now()); wait < 500*time.Millisecond || wait > 1500*time.Millisecond {
			t.Fatalf("backoff after a recovery = %v, want the initial 1s ±50%% again", wait)
		}
	})
}

func TestExpiredTokenNeverServedWhileEEODown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: 100 * time.Second}
		c := newCache(t, f, auth.Options{})
		mustToken(t, c)
		f.Fail(errEEODown)
		time.Sleep(100 * time.Second)
		if tok, err := c.Token(t.Context(), "demo"); err == nil {
			t.Fatalf("served %q past its expiry while EEO was down", tok.AccessToken.Reveal())
		}
		if st := c.Accounts()[0].State; st != auth.StateExpired {
			t.Errorf("state = %v, want expired", st)
		}
	})
}

func TestRetryAfterExtendsBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		f.Fail(&auth.TokenError{Kind: auth.KindRateLimited, StatusCode: 429, RetryAfter: 20 * time.Second})
		c := newCache(t, f, auth.Options{BackoffInitial: time.Second, BackoffMax: time.Minute})
		_, err := c.Token(t.Context(), "demo")
		var fe *auth.FetchError
		if !errors.As(err, &fe) || fe.RetryAt.Sub(time.Now()) != 20*time.Second {
			t.Fatalf("err = %v, want RetryAt 20s away from Retry-After", err)
		}
	})
}

func TestLateInvalidateKeepsNewerToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		c := newCache(t, f, auth.Options{})
		old := mustToken(t, c)
		fresh, err := c.Refresh(t.Context(), "demo")
		if err != nil || fresh.AccessToken.Equal(old.AccessToken) {
			t.Fatalf("Refresh = %v, %v; want a new token", fresh.AccessToken.Reveal(), err)
		}
		if dropped, _ := c.Invalidate("demo", old.AccessToken); dropped {
			t.Fatal("a late 401 for the old token dropped the newer one")
		}
		if dropped, _ := c.InvalidateFingerprint("demo", old.Fingerprint); dropped {
			t.Fatal("a stale fingerprint dropped the newer token")
		}
		if got := mustToken(t, c); !got.AccessToken.Equal(fresh.AccessToken) {
			t.Fatalf("cached token changed to %q", got.AccessToken.Reveal())
		}
		if dropped, _ := c.Invalidate("demo", fresh.AccessToken); !dropped {
			t.Fatal("invalidating the cached token did not drop it")
		}
		if got := mustToken(t, c).AccessToken.Reveal(); got != "tok-3" {
			t.Fatalf("after invalidation got %q, want tok-3", got)
		}
		if dropped, _ := c.InvalidateFingerprint("demo", auth.Fingerprint(auth.NewSecret("tok-3"))); !dropped {
			t.Fatal("matching fingerprint did not drop the token")
		}
		mustToken(t, c)
		if dropped, _ := c.Drop("demo"); !dropped {
			t.Fatal("Drop did not drop the cached token")
		}
		if dropped, _ := c.Drop("demo"); dropped {
			t.Fatal("Drop of an empty entry reported a drop")
		}
		if st := c.Accounts()[0].State; st != auth.StateNone {
			t.Fatalf("state after drop = %v", st)
		}
	})
}

func TestRefreshJoinsFetchInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		release := f.Hold()
		c := newCache(t, f, auth.Options{})
		got := make(chan string, 2)
		go func() { tok, _ := c.Token(t.Context(), "demo"); got <- tok.AccessToken.Reveal() }()
		synctest.Wait()
		go func() { tok, _ := c.Refresh(t.Context(), "demo"); got <- tok.AccessToken.Reveal() }()
		synctest.Wait()
		release()
		if a, b := <-got, <-got; a != "tok-1" || b != "tok-1" {
			t.Fatalf("got %q and %q, want both tok-1", a, b)
		}
		if n := f.Calls(); n != 1 {
			t.Fatalf("token requests = %d, want 1", n)
		}
	})
}

func TestUnknownAccount(t *testing.T) {
	c := newCache(t, &authtest.Fetcher{}, auth.Options{})
	if _, err := c.Token(t.Context(), "nope"); !errors.Is(err, auth.ErrUnknownAccount) {
		t.Fatalf("Token: %v", err)
	}
	if _, err := c.Refresh(t.Context(), "nope"); !errors.Is(err, auth.ErrUnknownAccount) {
		t.Fatalf("Refresh: %v", err)
	}
	if _, err := c.Drop("nope"); !errors.Is(err, auth.ErrUnknownAccount) {
		t.Fatalf("Drop: %v", err)
	}
}

func TestNewCacheRejectsBadAccounts(t *testing.T) {
	for _, accounts := range [][]auth.Account{
		{{Name: "", Fetcher: &authtest.Fetcher{}}},
		{{Name: "a"}},
		{{Name: "a", Fetcher: &authtest.Fetcher{}}, {Name: "a", Fetcher: &authtest.Fetcher{}}},
	} {
		if _, err := auth.NewCache(accounts, auth.Options{}); err == nil {
			t.Errorf("NewCache(%v) succeeded", accounts)
		}
	}
}

func TestCloseAbortsFetchInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		release := f.Hold()
		defer release()
		c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: f}}, auth.Options{FetchTimeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := c.Token(t.Context(), "demo"); done <- err }()
		synctest.Wait()
		c.Close()
		if err := <-done; err == nil {
			t.Fatal("Token succeeded after Close aborted its fetch")
		}
		if _, err := c.Token(t.Context(), "demo"); !errors.Is(err, auth.ErrClosed) {
			t.Fatalf("Token after Close = %v, want ErrClosed", err)
		}
	})
}

func TestHitPathDoesNotAllocate(t *testing.T) {
	c := newCache(t, &authtest.Fetcher{}, auth.Options{})
	ctx := context.Background()
	if _, err := c.Token(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { c.Token(ctx, "demo") }); n != 0 {
		t.Fatalf("cache hit allocates %v times", n)
	}
}

func BenchmarkTokenHit(b *testing.B) {
	c, _ := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: &authtest.Fetcher{}}}, auth.Options{})
	defer c.Close()
	ctx := context.Background()
	c.Token(ctx, "demo")
	b.ReportAllocs()
	for b.Loop() {
		c.Token(ctx, "demo")
	}
}

func BenchmarkTokenHitParallel(b *testing.B) {
	c, _ := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: &authtest.Fetcher{}}}, auth.Options{})
	defer c.Close()
	ctx := context.Background()
	c.Token(ctx, "demo")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Token(ctx, "demo")
		}
	})
}

// Audit logging tells issuance from routine hits by Token.Fetched: set for
// every caller that waited for the token request (the one that started it
// and those that joined it), never for a hit.
func TestFetchedTellsIssuanceFromHits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: time.Hour}
		release := f.Hold()
		c := newCache(t, f, auth.Options{})
		var wg sync.WaitGroup
		fetched := make([]bool, 3)
		for i := range fetched {
			wg.Go(func() { fetched[i] = mustToken(t, c).Fetched })
		}
		synctest.Wait() // all three wait on the one fetch
		release()
		wg.Wait()
		if f.Calls() != 1 {
			t.Fatalf("%d fetches, want 1", f.Calls())
		}
		for i, ok := range fetched {
			if !ok {
				t.Errorf("caller %d waited for the token request but Fetched is false", i)
			}
		}
		if mustToken(t, c).Fetched {
			t.Error("a cache hit has Fetched set")
		}
		refreshed, err := c.Refresh(t.Context(), "demo")
		if err != nil || !refreshed.Fetched {
			t.Errorf("Refresh: Fetched = %v, err = %v; want true, nil", refreshed.Fetched, err)
		}
	})
}
