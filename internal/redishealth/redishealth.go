// Package redishealth follows whether the gateway's Redis answers for the
// shared idempotency records (issue 14), so the request-id log falls back
// to the replica's own memory while it does not, and comes back to Redis
// when it answers again.
//
// cmd/eeo-gateway builds one Tracker for the idempotency records
// (server.Config.RedisHealth) and PINGs Redis through it (Watch). The
// token cache tracks its own store's health (auth.Cache.SharedStatus,
// logged by the cache); UpGauge exposes it under the same metric, so
// eeo_gateway_redis_up has one series per store: store="requests" and
// store="tokens".
//
// A Tracker is a circuit breaker (sony/gobreaker) around every Redis call:
// ConsecutiveFailures failed calls in a row mark Redis down — one WARN
// line, the gauge (store="requests") 0 — and from then on calls are
// refused at once (ErrUnavailable) without touching the network, so a dead
// or blackholed Redis costs the callers nothing; every RetryAfter one call
// (a caller's, or Watch's PING) is let through, and its success marks
// Redis up again — one INFO line, the gauge 1. Every call that did not get
// Redis's answer (refused, failed or timed out) counts in
// eeo_gateway_redis_fallbacks_total by operation, since its caller then
// uses its local state.
package redishealth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Defaults of Options.
const (
	DefaultCallTimeout         = time.Second
	DefaultConsecutiveFailures = 2
	DefaultRetryAfter          = 5 * time.Second
)

// ErrUnavailable is returned by Call without calling f while Redis is
// marked down: the caller falls back to its local state.
var ErrUnavailable = errors.New("redis unavailable: using local state")

// errCallerGone is the breaker verdict of a call whose caller went away:
// it says nothing about Redis.
var errCallerGone = errors.New("redishealth: caller gone")

// Options configure a Tracker. Zero values take the defaults.
type Options struct {
	// Logger receives the transitions; nil discards them.
	Logger *slog.Logger
	// Metrics, if set, receives eeo_gateway_redis_up{store="requests"}
	// and eeo_gateway_redis_fallbacks_total.
	Metrics prometheus.Registerer
	// CallTimeout bounds each Call (all the round trips of one operation),
	// so a slow Redis delays a caller by at most this much before it
	// falls back. Default DefaultCallTimeout (1s).
	CallTimeout time.Duration
	// ConsecutiveFailures failed calls in a row mark Redis down. Default
	// DefaultConsecutiveFailures (2), so one lost packet does not.
	ConsecutiveFailures uint32
	// RetryAfter is how long Redis stays marked down before one call is
	// let through to try it; Watch pings twice as often. Default
	// DefaultRetryAfter (5s).
	RetryAfter time.Duration
}

// Tracker is the breaker in front of one Redis client. It is safe for
// concurrent use. The nil *Tracker lets every call through and tracks
// nothing.
type Tracker struct {
	cb        *gobreaker.TwoStepCircuitBreaker[struct{}]
	log       *slog.Logger
	timeout   time.Duration
	retry     time.Duration
	fallbacks *prometheus.CounterVec
	// lastErr is the latest failure, for the line that says Redis went
	// down (gobreaker's state callback does not get the error).
	lastErr atomic.Pointer[error]
}

// New returns a Tracker that starts with Redis marked up: nothing is known
// against it until a call (or Watch's first PING) fails.
func New(opts Options) (*Tracker, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.ConsecutiveFailures == 0 {
		opts.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	t := &Tracker{
		log:     opts.Logger,
		timeout: opts.CallTimeout,
		retry:   opts.RetryAfter,
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_redis_fallbacks_total",
			Help: "Redis operations that did not get Redis's answer (refused while Redis is marked down, failed or timed out), so the gateway used its local state instead, by operation.",
		}, []string{"operation"}),
	}
	failures := opts.ConsecutiveFailures
	t.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "redis",
		MaxRequests: 1,
		Timeout:     opts.RetryAfter,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		IsExcluded:  func(err error) bool { return err == errCallerGone },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			t.changed(from, to)
		},
	})
	if opts.Metrics != nil {
		for _, c := range []prometheus.Collector{UpGauge(StoreRequests, t.Up), t.fallbacks} {
			if err := opts.Metrics.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// changed logs the transitions between up and down, and only those: the
// breaker's round trips through half-open while Redis stays down are not
// news. It runs with the breaker's lock held.
func (t *Tracker) changed(from, to gobreaker.State) {
	switch {
	case from == gobreaker.StateClosed && to == gobreaker.StateOpen:
		attrs := []any{"retry_every", t.retry}
		if err := t.lastErr.Load(); err != nil {
			// go-redis errors name the address and what failed, never
			// the password.
			attrs = append(attrs, "error", (*err).Error())
		}
		t.log.Warn("redis down: request ids are deduplicated by this replica alone until it answers", attrs...)
	case to == gobreaker.StateClosed:
		t.log.Info("redis up again: replicas share request ids through it")
	}
}

// Stores, the values of eeo_gateway_redis_up's store label.
const (
	StoreRequests = "requests" // the idempotency records (this Tracker)
	StoreTokens   = "tokens"   // the shared token store (auth.Cache)
)

// UpGauge is eeo_gateway_redis_up{store=store}, reading up at scrape time:
// 1 while that store's Redis answers, 0 while its user has marked it down
// and works from local state.
func UpGauge(store string, up func() bool) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "eeo_gateway_redis_up",
		Help:        "1 while the configured Redis answers the store's calls, 0 while the gateway has marked it down and uses this replica's local state instead (store: tokens, the token cache; requests, the request-id log).",
		ConstLabels: prometheus.Labels{"store": store},
	}, func() float64 {
		if up() {
			return 1
		}
		return 0
	})
}

// Up reports whether Redis is marked up. The nil Tracker is always up.
func (t *Tracker) Up() bool {
	return t == nil || t.cb.State() == gobreaker.StateClosed
}

// Call runs f against Redis with a deadline of CallTimeout, unless Redis
// is marked down: then it returns ErrUnavailable at once. f must return
// nil whenever Redis answered, whatever the answer meant (a missing key,
// a claim held by someone else): only errors that say Redis did not
// answer properly count against it. Any error returned means the caller
// falls back to its local state; op (a fixed name, e.g.
// "request_begin") labels it in eeo_gateway_redis_fallbacks_total. A
// caller whose own context ends does not count either way.
func (t *Tracker) Call(ctx context.Context, op string, f func(context.Context) error) error {
	if t == nil {
		return f(ctx)
	}
	err := t.run(ctx, f)
	if err != nil && ctx.Err() == nil {
		t.fallbacks.WithLabelValues(op).Inc()
	}
	return err
}

// run asks the breaker, runs f under CallTimeout and reports the verdict.
func (t *Tracker) run(ctx context.Context, f func(context.Context) error) error {
	done, err := t.cb.Allow()
	if err != nil {
		// Marked down and not yet due for a try, or another call is
		// already the try.
		return ErrUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, t.timeout)
	err = f(cctx)
	cancel()
	switch {
	case err == nil:
		done(nil)
	case ctx.Err() != nil:
		done(errCallerGone)
	default:
		t.lastErr.Store(&err)
		done(err)
	}
	return err
}

// Watch pings Redis every RetryAfter/2 until ctx ends, so the gauge and the
// log follow Redis even while no caller uses it: a Redis that is down at
// start, or goes down or comes back during a quiet spell, is reported
// without waiting for traffic. Its pings count in no fallback.
func (t *Tracker) Watch(ctx context.Context, ping func(context.Context) error) {
	if t == nil {
		return
	}
	// Twice per RetryAfter, so a try is due at most RetryAfter/2 after
	// the breaker allows one.
	tick := time.NewTicker(t.retry / 2)
	defer tick.Stop()
	for {
		_ = t.run(ctx, ping)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
