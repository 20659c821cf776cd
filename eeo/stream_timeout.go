package eeo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// idleTimeout is the cause of a stream that moved no byte for d.
func idleTimeout(d time.Duration) error {
	return &timeoutError{msg: fmt.Sprintf("stream stalled: no data moved for %v", d), idle: true}
}

// isIdleTimeout reports whether err is, or wraps, a stream's idle timeout.
func isIdleTimeout(err error) bool {
	var te *timeoutError
	return errors.As(err, &te) && te.idle
}

// watchdog is a context that a timer cancels: either a fixed time after it
// is armed (deadline), or once no progress has been reported for a while
// (idle). Streams use it because a context's deadline cannot be lifted once
// the response body starts.
type watchdog struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	base   time.Time
	last   atomic.Int64 // time of the last progress, as a duration since base

	mu    sync.Mutex
	timer *time.Timer // guarded by mu
	gen   uint64      // guarded by mu; bumped whenever the timer is replaced or stopped
}

func newWatchdog(parent context.Context) *watchdog {
	ctx, cancel := context.WithCancelCause(parent)
	return &watchdog{ctx: ctx, cancel: cancel, base: time.Now()}
}

// deadline makes the watchdog end its context with cause d from now.
func (w *watchdog) deadline(d time.Duration, cause error) {
	w.arm(d, func(time.Duration) (time.Duration, error) { return 0, cause })
}

// idle makes the watchdog end its context with cause once no progress has
// been reported for d.
func (w *watchdog) idle(d time.Duration, cause error) {
	w.kick()
	w.arm(d, func(quiet time.Duration) (time.Duration, error) {
		if quiet < d {
			return d - quiet, nil
		}
		return 0, cause
	})
}

// arm replaces the timer with one firing after d; on firing, check is given
// the time since the last progress and returns either how much longer to
// wait or the cause to cancel with.
func (w *watchdog) arm(d time.Duration, check func(quiet time.Duration) (time.Duration, error)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.gen++
	gen := w.gen
	w.timer = time.AfterFunc(d, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.gen != gen {
			return // replaced or stopped meanwhile
		}
		quiet := time.Since(w.base) - time.Duration(w.last.Load())
		if again, cause := check(quiet); cause == nil {
			w.timer.Reset(again)
		} else {
			w.cancel(cause)
		}
	})
}

// kick reports progress.
func (w *watchdog) kick() { w.last.Store(int64(time.Since(w.base))) }

// stop ends the watchdog and its context.
func (w *watchdog) stop() {
	w.mu.Lock()
	w.gen++
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	w.cancel(nil)
}
