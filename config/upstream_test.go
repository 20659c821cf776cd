package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// An absent upstream section means the eeo client's own defaults, and
// ClientOptions hands them over unchanged.
func TestUpstreamDefaultsAreTheClients(t *testing.T) {
	u := config.Default().Upstream
	got := u.ClientOptions()
	want := eeo.Options{
		Retry: eeo.RetryPolicy{MaxAttempts: eeo.DefaultMaxAttempts, MaxElapsed: eeo.DefaultMaxElapsed,
			InitialBackoff: eeo.DefaultInitialBackoff, MaxBackoff: eeo.DefaultMaxBackoff},
		Breaker:           eeo.BreakerPolicy{ConsecutiveFailures: eeo.DefaultConsecutiveFailures, OpenFor: eeo.DefaultOpenFor},
		MaxConcurrent:     eeo.DefaultMaxConcurrent,
		OperationTimeout:  eeo.DefaultOperationTimeout,
		StreamIdleTimeout: eeo.DefaultStreamIdleTimeout,
	}
	if got.Retry != want.Retry || got.Breaker != want.Breaker || got.MaxConcurrent != want.MaxConcurrent ||
		got.OperationTimeout != want.OperationTimeout || got.StreamIdleTimeout != want.StreamIdleTimeout {
		t.Errorf("ClientOptions() = %+v, want %+v", got, want)
	}
	if u.DialTimeout.Std() != eeo.DefaultDialTimeout {
		t.Errorf("dial_timeout %v, want %v", u.DialTimeout, eeo.DefaultDialTimeout)
	}
}

// A file's upstream settings reach the eeo client options.
func TestUpstreamFromFile(t *testing.T) {
	const yaml = `
upstream:
  retry: {max_attempts: 1, max_elapsed: 3s, initial_backoff: 10ms, max_backoff: 20ms}
  breaker: {consecutive_failures: 2, open_duration: 1m}
  max_in_flight: 4
  operation_timeout: 12s
  stream_idle_timeout: 40s
  dial_timeout: 1s
` + minimalYAML
	c, err := config.Load("/etc/eeo.yaml", env{"ACME_SECRET": secretValue}.get, files{"/etc/eeo.yaml": yaml}.read)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	o := c.Upstream.ClientOptions()
	if o.Retry != (eeo.RetryPolicy{MaxAttempts: 1, MaxElapsed: 3 * time.Second, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}) {
		t.Errorf("retry %+v", o.Retry)
	}
	if o.Breaker != (eeo.BreakerPolicy{ConsecutiveFailures: 2, OpenFor: time.Minute}) {
		t.Errorf("breaker %+v", o.Breaker)
	}
	if o.MaxConcurrent != 4 || o.OperationTimeout != 12*time.Second || o.StreamIdleTimeout != 40*time.Second || c.Upstream.DialTimeout.Std() != time.Second {
		t.Errorf("options %+v, dial_timeout %v", o, c.Upstream.DialTimeout)
	}
}

func TestUpstreamValidationNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*config.UpstreamConfig)
		want   string
	}{
		{func(u *config.UpstreamConfig) { u.Retry.MaxAttempts = -1 }, "upstream.retry.max_attempts: must be from 1 to 2147483647, got -1"},
		{func(u *config.UpstreamConfig) { u.Retry.MaxElapsed = sec(-time.Second) }, "upstream.retry.max_elapsed: must be positive"},
		{func(u *config.UpstreamConfig) { u.Retry.InitialBackoff = sec(-time.Second) }, "upstream.retry.initial_backoff: must be positive"},
		{func(u *config.UpstreamConfig) { u.Retry.MaxBackoff = sec(-time.Second) }, "upstream.retry.max_backoff: must be positive"},
		{func(u *config.UpstreamConfig) { u.Retry.InitialBackoff = sec(time.Minute) }, "upstream.retry.initial_backoff: must not exceed upstream.retry.max_backoff (5s), got 1m0s"},
		{func(u *config.UpstreamConfig) { u.Breaker.ConsecutiveFailures = -3 }, "upstream.breaker.consecutive_failures: must be from 1 to 4294967295, got -3"},
		{func(u *config.UpstreamConfig) { u.Breaker.OpenDuration = sec(-time.Second) }, "upstream.breaker.open_duration: must be positive"},
		{func(u *config.UpstreamConfig) { u.MaxInFlight = -1 }, "upstream.max_in_flight: must be from 1 to 2147483647, got -1"},
		{func(u *config.UpstreamConfig) { u.OperationTimeout = sec(-time.Second) }, "upstream.operation_timeout: must be positive"},
		{func(u *config.UpstreamConfig) { u.StreamIdleTimeout = sec(-time.Second) }, "upstream.stream_idle_timeout: must be positive"},
		{func(u *config.UpstreamConfig) { u.DialTimeout = sec(-time.Second) }, "upstream.dial_timeout: must be positive"},
	} {
		c := validConfig()
		tc.mutate(&c.Upstream)
		lines := errLines(c.Validate())
		if len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) {
			t.Errorf("Validate() = %q, want one line starting %q", lines, tc.want)
		}
	}
}
