package eeo

import (
	"context"
	"time"
)

// Observer is told what a Client's calls do, for metrics and tracing: one
// place sees every call, since every call passes through the Client's
// pipeline (breaker, concurrency slot, time limit, attempts).
//
// Methods are called on the calls' own goroutines, so they must be quick and
// safe for concurrent use; BreakerChanged is called with the breaker's lock
// held and must not call the Client. None of them ever sees a token, a
// secret or a body. Embed NopObserver to implement only some of them.
type Observer interface {
	// SlotWaited reports a call's wait for a concurrency slot: how long it
	// took, and the *Error (Code CodeConcurrencyLimited, or the caller's
	// context ending) if the call gave up; nil once it holds a slot.
	SlotWaited(ctx context.Context, op string, waited time.Duration, err error)
	// AttemptStarted is called before attempt n (from 1) of a call. The
	// context it returns is the attempt's (a tracer may start a span in
	// it); return ctx to change nothing.
	AttemptStarted(ctx context.Context, op string, n int) context.Context
	// AttemptEnded reports attempt n's outcome: EEO's HTTP status (0 when
	// none arrived) and the error, nil on success. ctx is the one
	// AttemptStarted returned. A 401 answered with a fresh token is part
	// of the same attempt.
	AttemptEnded(ctx context.Context, op string, n int, status int, err error, took time.Duration)
	// Retrying reports a pause of wait after attempt n failed with err,
	// before attempt n+1.
	Retrying(ctx context.Context, op string, n int, wait time.Duration, err error)
	// BreakerChanged reports the account's breaker changing state
	// ("closed", "open", "half-open").
	BreakerChanged(account, from, to string)
	// Streamed reports the bytes a stream moved once it is over: the bytes
	// of an upload body handed to the transport, or of a download read by
	// the caller.
	Streamed(ctx context.Context, op string, bytes int64)
}

// NopObserver is an Observer that does nothing; embed it to implement only
// some methods.
type NopObserver struct{}

// SlotWaited implements Observer.
func (NopObserver) SlotWaited(context.Context, string, time.Duration, error) {}

// AttemptStarted implements Observer.
func (NopObserver) AttemptStarted(ctx context.Context, _ string, _ int) context.Context { return ctx }

// AttemptEnded implements Observer.
func (NopObserver) AttemptEnded(context.Context, string, int, int, error, time.Duration) {}

// Retrying implements Observer.
func (NopObserver) Retrying(context.Context, string, int, time.Duration, error) {}

// BreakerChanged implements Observer.
func (NopObserver) BreakerChanged(string, string, string) {}

// Streamed implements Observer.
func (NopObserver) Streamed(context.Context, string, int64) {}
