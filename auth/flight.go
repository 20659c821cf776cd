package auth

import "sync"

// flight is one token request that an account's callers share, as
// golang.org/x/sync/singleflight would run it for a single key, but
// answered with one close: in a stampede thousands of callers wait for the
// same request, and singleflight's DoChan gave each its own channel, all
// sent to one by one under the group's lock once the request ended.
// Closing done wakes them all in one pass, and a waiter costs no
// allocation of its own. It also saves the map a singleflight.Group keeps
// per account once used: the cache's memory per account fell from ~958 to
// ~702 bytes (bench/memory).
type flight struct {
	done chan struct{} // closed once st and err are set
	st   *cachedToken
	err  error
}

// flights runs at most one token request at a time for an account.
type flights struct {
	mu  sync.Mutex
	cur *flight // the request in flight; nil when none is
}

// join returns the flight in progress, or starts run as a new one in its
// own goroutine; led reports whether it did. run must call forget once it
// has recorded its outcome (it may end sooner, and must before the flight
// can be joined no more).
func (f *flights) join(run func() (*cachedToken, error)) (fl *flight, led bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur != nil {
		return f.cur, false
	}
	fl = &flight{done: make(chan struct{})}
	f.cur = fl
	go func() {
		defer close(fl.done)
		defer f.forget(fl)
		fl.st, fl.err = run()
	}()
	return fl, true
}

// forget ends fl's turn, if it is still the flight in progress: callers
// from then on start a new request instead of joining it. A nil fl means
// whichever flight is in progress (the running request's own call).
func (f *flights) forget(fl *flight) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl == nil || f.cur == fl {
		f.cur = nil
	}
}
