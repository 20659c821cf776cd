package config

import (
	"fmt"
	"math"

	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// UpstreamConfig tunes the gateway's calls to EEO's import and report API:
// every account's client has its own breaker and in-flight limit with these
// settings. Token requests are tuned by TokenConfig, except for
// DialTimeout, which bounds every new connection to EEO. Each default is
// the eeo package's own (eeo.Default…), so the two cannot drift.
type UpstreamConfig struct {
	// Retry says how idempotent calls are retried after a failure EEO may
	// not repeat (transport errors, 429, 500, 502, 503, 504). Uploads are
	// never retried.
	Retry UpstreamRetryConfig `json:"retry"`
	// Breaker fails calls fast, for one account, while EEO keeps failing.
	Breaker UpstreamBreakerConfig `json:"breaker"`
	// MaxInFlight bounds one account's requests in flight toward EEO; a
	// call beyond it waits within its deadline, then fails with
	// RESOURCE_EXHAUSTED (EEO_CONCURRENCY_LIMITED). Default 16.
	MaxInFlight int `json:"max_in_flight"`
	// OperationTimeout bounds a non-streaming call, retries and pauses
	// included, and a download until EEO's response headers arrive.
	// Default 30s.
	OperationTimeout Duration `json:"operation_timeout"`
	// StreamIdleTimeout fails an upload or download once no byte has moved
	// for this long; transfers have no overall deadline. Default 2m.
	StreamIdleTimeout Duration `json:"stream_idle_timeout"`
	// DialTimeout bounds the TCP connect, and then the TLS handshake, of a
	// new connection to EEO (token endpoint included). Default 5s.
	DialTimeout Duration `json:"dial_timeout"`
}

// UpstreamRetryConfig is the retry policy of calls to EEO.
type UpstreamRetryConfig struct {
	// MaxAttempts bounds the attempts of one call, the first included; 1
	// turns retries off. Default 3.
	MaxAttempts int `json:"max_attempts"`
	// MaxElapsed bounds the time from a call's first attempt to the start
	// of its last. Default 20s.
	MaxElapsed Duration `json:"max_elapsed"`
	// InitialBackoff is the ceiling of the first (jittered) pause; it
	// doubles up to MaxBackoff. EEO's Retry-After, when longer, wins.
	// Default 200ms.
	InitialBackoff Duration `json:"initial_backoff"`
	// MaxBackoff caps the ceiling of any jittered pause. Default 5s.
	MaxBackoff Duration `json:"max_backoff"`
}

// UpstreamBreakerConfig is the circuit breaker of calls to EEO.
type UpstreamBreakerConfig struct {
	// ConsecutiveFailures in a row (transport errors, 429, 5xx) open the
	// breaker. Default 5.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// OpenDuration is how long an open breaker fails calls before it lets
	// a probe through. Default 10s.
	OpenDuration Duration `json:"open_duration"`
}

// ClientOptions returns the eeo client options u describes; the caller adds
// the HTTP client and the logger.
func (u UpstreamConfig) ClientOptions() eeo.Options {
	return eeo.Options{
		Retry: eeo.RetryPolicy{
			MaxAttempts:    u.Retry.MaxAttempts,
			MaxElapsed:     u.Retry.MaxElapsed.Std(),
			InitialBackoff: u.Retry.InitialBackoff.Std(),
			MaxBackoff:     u.Retry.MaxBackoff.Std(),
		},
		Breaker: eeo.BreakerPolicy{
			ConsecutiveFailures: uint32(u.Breaker.ConsecutiveFailures), // Validate bounds it
			OpenFor:             u.Breaker.OpenDuration.Std(),
		},
		MaxConcurrent:     u.MaxInFlight,
		OperationTimeout:  u.OperationTimeout.Std(),
		StreamIdleTimeout: u.StreamIdleTimeout.Std(),
	}
}

// setDefaults fills u's fields still at their zero value.
func (u *UpstreamConfig) setDefaults() {
	def(&u.Retry.MaxAttempts, eeo.DefaultMaxAttempts)
	def(&u.Retry.MaxElapsed, Duration(eeo.DefaultMaxElapsed))
	def(&u.Retry.InitialBackoff, Duration(eeo.DefaultInitialBackoff))
	def(&u.Retry.MaxBackoff, Duration(eeo.DefaultMaxBackoff))
	def(&u.Breaker.ConsecutiveFailures, eeo.DefaultConsecutiveFailures)
	def(&u.Breaker.OpenDuration, Duration(eeo.DefaultOpenFor))
	def(&u.MaxInFlight, eeo.DefaultMaxConcurrent)
	def(&u.OperationTimeout, Duration(eeo.DefaultOperationTimeout))
	def(&u.StreamIdleTimeout, Duration(eeo.DefaultStreamIdleTimeout))
	def(&u.DialTimeout, Duration(eeo.DefaultDialTimeout))
}

// validate adds u's problems to p, each against its YAML field.
func (u UpstreamConfig) validate(p *problems) {
	r := u.Retry
	p.add("upstream.retry.max_attempts", checkCount(r.MaxAttempts, math.MaxInt32))
	p.add("upstream.retry.max_elapsed", checkPositive(r.MaxElapsed))
	p.add("upstream.retry.initial_backoff", checkPositive(r.InitialBackoff))
	p.add("upstream.retry.max_backoff", checkPositive(r.MaxBackoff))
	if r.MaxBackoff > 0 && r.InitialBackoff > r.MaxBackoff {
		p.add("upstream.retry.initial_backoff", fmt.Errorf("must not exceed upstream.retry.max_backoff (%v), got %v", r.MaxBackoff, r.InitialBackoff))
	}
	p.add("upstream.breaker.consecutive_failures", checkCount(u.Breaker.ConsecutiveFailures, math.MaxUint32))
	p.add("upstream.breaker.open_duration", checkPositive(u.Breaker.OpenDuration))
	p.add("upstream.max_in_flight", checkCount(u.MaxInFlight, math.MaxInt32))
	p.add("upstream.operation_timeout", checkPositive(u.OperationTimeout))
	p.add("upstream.stream_idle_timeout", checkPositive(u.StreamIdleTimeout))
	p.add("upstream.dial_timeout", checkPositive(u.DialTimeout))
}

// checkCount accepts a count from 1 to most.
func checkCount(n, most int) error {
	if n < 1 || n > most {
		return fmt.Errorf("must be from 1 to %d, got %d", most, n)
	}
	return nil
}
