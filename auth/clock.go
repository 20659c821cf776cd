package auth

import (
	"math"
	"sync/atomic"
	"time"
)

// DefaultClockResolution is how often the cache's coarse clock ticks while
// tokens are being handed out.
const DefaultClockResolution = 10 * time.Millisecond

// clockParkAfter is how long the coarse clock keeps ticking without a reader
// before it parks: an idle gateway does not wake up a hundred times a second.
const clockParkAfter = 100 * time.Millisecond

// parked is the coarse reading while the ticker sleeps: readers then take
// the precise time themselves and wake it.
const parked = math.MinInt64

// clock is the cache's time, in nanoseconds since base on the monotonic
// clock (so a step of the wall clock cannot make a token look younger).
//
// Reading the system clock costs more than the rest of a cache hit on some
// virtual machines (~110 ns), so by default a ticker goroutine publishes the
// time in an atomic every resolution and hits read that. A reading is then
// late — never early — by less than the resolution, and reading returns
// that slack with it: callers compare deadlines against reading+slack, an
// upper bound on the true time, and so stop serving a token up to one
// resolution early but never late.
//
// Worst case. The bound "true time < reading + resolution" holds while the
// ticker goroutine runs on schedule: a published reading is replaced within
// one period (by the next tick, or by parked). If the process is starved or
// stopped (GC, CPU throttling, SIGSTOP) the ticker can be late by D and a
// token can be served up to D past its cache deadline; but a hit that read
// the precise clock and was then descheduled for D would hand the token out
// just as late, which is what the idle margin (30 s) and expiry margin
// (60 s) — both required to exceed the resolution — are there to absorb.
// The coarse clock adds at most one resolution to that, and the slack
// returned with each reading takes even that back.
//
// With Options.Now set, every reading calls it and has no slack.
type clock struct {
	base time.Time        // readings count from here, on the monotonic clock
	wall time.Time        // base without its monotonic reading, for times handed out
	now  func() time.Time // Options.Now; nil means the coarse clock
	res  int64            // resolution in nanoseconds; 0 with Options.Now

	cur  atomic.Int64  // the published reading, or parked
	used atomic.Bool   // a hit read cur since the last tick
	wake chan struct{} // buffered: a parked-time reader asks for ticking
	done chan struct{} // closed when run returns
}

func newClock(now func() time.Time, res time.Duration) *clock {
	if now != nil {
		t := now()
		return &clock{base: t, wall: t.Round(0), now: now}
	}
	t := time.Now()
	c := &clock{base: t, wall: t.Round(0), res: int64(res), wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.cur.Store(parked)
	return c
}

// coarse reports whether the clock has a ticker to run.
func (c *clock) coarse() bool { return c.now == nil }

// reading returns the time and how far the true time may be ahead of it:
// the true time lies in [n, n+slack].
func (c *clock) reading() (n, slack int64) {
	if c.now != nil {
		return int64(c.now().Sub(c.base)), 0
	}
	if n := c.cur.Load(); n != parked {
		// A store per tick, not per hit: after the first hit of a period
		// this is a load of a line every core already shares.
		if !c.used.Load() {
			c.used.Store(true)
		}
		return n, c.res
	}
	select {
	case c.wake <- struct{}{}:
	default: // already asked
	}
	return int64(time.Since(c.base)), 0
}

// time converts a reading to a wall-clock time.Time, for callers and logs:
// adding to a time without a monotonic reading is the cheaper path, and
// every deadline the cache acts on is compared as a reading instead.
func (c *clock) time(n int64) time.Time { return c.wall.Add(time.Duration(n)) }

// run publishes the time every resolution while hits read it, parks after
// clockParkAfter without one, and returns when stop is closed.
func (c *clock) run(stop <-chan struct{}) {
	defer close(c.done)
	defer c.cur.Store(parked) // a closed cache's hits read the precise time
	idleTicks := max(1, int(int64(clockParkAfter)/c.res))
	for {
		select { // parked
		case <-stop:
			return
		case <-c.wake:
		}
		c.cur.Store(int64(time.Since(c.base)))
		t := time.NewTicker(time.Duration(c.res))
		for idle := 0; idle < idleTicks; {
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C:
			}
			// Publish first, then look at used: a hit in between may be
			// missed, which at worst parks one period early.
			c.cur.Store(int64(time.Since(c.base)))
			if c.used.Swap(false) {
				idle = 0
			} else {
				idle++
			}
		}
		t.Stop()
		// A reader that loaded the last reading just before this store
		// uses a value less than one period old.
		c.cur.Store(parked)
	}
}

// at converts a wall-clock time (another replica's, from a SharedStore) to
// a reading.
func (c *clock) at(t time.Time) int64 { return int64(t.Sub(c.wall)) }

// exact returns the precise time as a reading, without the coarse clock
// and without waking its ticker: for background work that is not a hit.
func (c *clock) exact() int64 {
	if c.now != nil {
		return int64(c.now().Sub(c.base))
	}
	return int64(time.Since(c.base))
}
