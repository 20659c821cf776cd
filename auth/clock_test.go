package auth_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	"go.uber.org/goleak"
)

// The cache reads a coarse clock (DefaultClockResolution, 10ms) and records
// uses sparsely. These tests call it at times that fall between the clock's
// ticks, with sub-resolution steps across each deadline, and check against
// the true time that no token is ever served at or past its expiry or its
// idle deadline — and that it is not withdrawn more than a few resolutions
// early either.

const res = auth.DefaultClockResolution

func TestCoarseClockNeverServesPastExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: 4 * time.Second} // lifetime 3s: the margin is clamped to a quarter
		c := newCache(t, f, auth.Options{})
		first := mustToken(t, c)
		f.Fail(errEEODown) // refreshes fail, so the token rides to its expiry
		var lastServed time.Time
		for time.Now().Before(first.ExpiresAt.Add(100 * time.Millisecond)) {
			time.Sleep(3 * time.Millisecond) // 3ms steps land between 10ms ticks
			tok, err := c.Token(t.Context(), "demo")
			if err != nil {
				continue
			}
			if now := time.Now(); !now.Before(tok.ExpiresAt) {
				t.Fatalf("served a token %v past its expiry", now.Sub(tok.ExpiresAt))
			}
			lastServed = time.Now()
		}
		if early := first.ExpiresAt.Sub(lastServed); early > 2*res {
			t.Fatalf("last served %v before expiry; want within two clock resolutions", early)
		}
	})
}

func TestCoarseClockAndSparseUseNeverServeIdleDeadToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idleUsable = 900 * time.Millisecond
		demo, busy := &authtest.Fetcher{}, &authtest.Fetcher{}
		c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: demo}, {Name: "busy", Fetcher: busy}},
			auth.Options{IdleTimeout: time.Second, IdleMargin: time.Second - idleUsable})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		get := func(account string) auth.Token {
			tok, err := c.Token(t.Context(), account)
			if err != nil {
				t.Fatalf("Token(%s): %v", account, err)
			}
			return tok
		}
		// Gaps from well inside the idle deadline to past it, 1ms apart,
		// so they fall at every phase of the clock's 10ms ticks; the last
		// use before each gap read either the coarse clock or, the clock
		// having parked, the precise time.
		for i := range 2 * 71 {
			gap, parkFirst := idleUsable-50*time.Millisecond+time.Duration(i/2)*time.Millisecond, i%2 == 1
			c.Reset("demo")
			tok := get("demo")
			// A burst of uses closer together than the resolution: only
			// some are recorded.
			for range 5 {
				time.Sleep(2 * time.Millisecond)
				get("demo")
			}
			if parkFirst {
				time.Sleep(250 * time.Millisecond)
				get("demo")
			}
			lastUse := time.Now()
			// Another account's hits keep the coarse clock ticking (rather
			// than parked and precise) through the gap.
			for time.Since(lastUse) < gap-3*time.Millisecond {
				time.Sleep(3 * time.Millisecond)
				get("busy")
			}
			time.Sleep(gap - time.Since(lastUse))
			again := get("demo")
			idle := time.Since(lastUse)
			same := again.AccessToken.Equal(tok.AccessToken)
			if same && idle >= idleUsable {
				t.Fatalf("served a token idle for %v; it is dead at the cache after %v", idle, idleUsable)
			}
			if !same && idle < idleUsable-3*res {
				t.Fatalf("replaced a token idle for only %v; want it served until within three resolutions of %v", idle, idleUsable)
			}
		}
	})
}

func TestNewCacheRejectsClockCoarserThanMargins(t *testing.T) {
	accounts := []auth.Account{{Name: "demo", Fetcher: &authtest.Fetcher{}}}
	for _, opts := range []auth.Options{
		{ClockResolution: time.Second, IdleMargin: 500 * time.Millisecond},
		{ClockResolution: time.Second, ExpiryMargin: time.Second},
		{ExpiryMargin: res},
	} {
		if c, err := auth.NewCache(accounts, opts); err == nil {
			c.Close()
			t.Errorf("NewCache(%+v) accepted a clock resolution not below both margins", opts)
		}
	}
	// An injected clock is read on every call: no resolution to cover.
	c, err := auth.NewCache(accounts, auth.Options{ExpiryMargin: time.Nanosecond, Now: time.Now})
	if err != nil {
		t.Fatalf("with Now set: %v", err)
	}
	c.Close()
}

func TestCloseStopsTheClockTicker(t *testing.T) {
	c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: &authtest.Fetcher{}}}, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 { // hits wake the ticker
		if _, err := c.Token(context.Background(), "demo"); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	goleak.VerifyNone(t)
	// A closed cache still serves its valid token, reading the precise time.
	if _, err := c.Token(context.Background(), "demo"); err != nil {
		t.Fatalf("Token after Close with a valid token cached: %v", err)
	}
}
