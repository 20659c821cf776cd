package auth

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestClockReadingBracketsTrueTime checks the invariant the cache's
// deadline checks rest on: the true time lies in [reading, reading+slack],
// while the ticker runs, while it is parked and across both transitions.
func TestClockReadingBracketsTrueTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const res = 10 * time.Millisecond
		c := newClock(nil, res)
		stop := make(chan struct{})
		go c.run(stop)
		defer func() { close(stop); <-c.done }()
		coarse := 0
		for i := range 3000 {
			step := time.Duration(i%7+1) * time.Millisecond
			if i%200 == 199 {
				step = 2 * clockParkAfter // long enough to park
			}
			time.Sleep(step)
			n, slack := c.reading()
			truth := int64(time.Since(c.base))
			if n > truth || truth > n+slack {
				t.Fatalf("step %d: reading %d slack %d, true time %d: not bracketed", i, n, slack, truth)
			}
			if slack > 0 {
				coarse++
			}
		}
		if coarse < 2500 {
			t.Fatalf("only %d of 3000 frequent readings were coarse; the ticker is not serving them", coarse)
		}
	})
}

// TestClockParksWhenIdle: an idle gateway's clock stops ticking, and the
// next reading is precise.
func TestClockParksWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClock(nil, 10*time.Millisecond)
		stop := make(chan struct{})
		go c.run(stop)
		defer func() { close(stop); <-c.done }()
		c.reading()
		synctest.Wait()
		if c.cur.Load() == parked {
			t.Fatal("a reading did not wake the ticker")
		}
		time.Sleep(clockParkAfter + 20*time.Millisecond)
		synctest.Wait()
		if c.cur.Load() != parked {
			t.Fatal("the ticker still runs after an idle clockParkAfter")
		}
		if _, slack := c.reading(); slack != 0 {
			t.Fatalf("reading a parked clock has slack %d, want a precise reading", slack)
		}
	})
}
