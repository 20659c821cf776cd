package redishealth_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/eeo-gateway/eeo-gateway/internal/redishealth"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

var errDown = errors.New("dial tcp 127.0.0.1:6380: connect: connection refused")

// fixture is a Tracker with its registry and log.
type fixture struct {
	tr   *redishealth.Tracker
	reg  *prometheus.Registry
	logs *testkit.SyncBuffer
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	f := fixture{reg: prometheus.NewRegistry(), logs: &testkit.SyncBuffer{}}
	var err error
	f.tr, err = redishealth.New(redishealth.Options{
		Logger:  slog.New(slog.NewTextHandler(f.logs, nil)),
		Metrics: f.reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) up(t *testing.T) float64 {
	t.Helper()
	v, err := testutil.GatherAndCount(f.reg, "eeo_gateway_redis_up")
	if err != nil || v != 1 {
		t.Fatalf("eeo_gateway_redis_up series: %d, %v", v, err)
	}
	mfs, _ := f.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "eeo_gateway_redis_up" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

func (f fixture) fallbacks(op string) float64 {
	mfs, _ := f.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "eeo_gateway_redis_fallbacks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == op {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func (f fixture) lines(level string) int {
	return strings.Count(f.logs.String(), "level="+level)
}

// Redis going down is one WARN line and the gauge at 0, however many calls
// fail; while it is marked down calls fall back at once without reaching
// it; after RetryAfter one call tries it, and its success is one INFO line
// and the gauge back at 1. Every call that fell back is counted.
func TestDownAndBackOnePerTransition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ctx := t.Context()
		calls := 0
		redisDown := func(context.Context) error { calls++; return errDown }
		redisUp := func(context.Context) error { calls++; return nil }

		if err := f.tr.Call(ctx, "request_begin", redisUp); err != nil || f.up(t) != 1 || !f.tr.Up() {
			t.Fatalf("healthy call: %v, gauge %v", err, f.up(t))
		}
		// One failure is not an outage (DefaultConsecutiveFailures is 2).
		if err := f.tr.Call(ctx, "request_begin", redisDown); !errors.Is(err, errDown) || f.up(t) != 1 {
			t.Fatalf("first failure: %v, gauge %v; want the error, still up", err, f.up(t))
		}
		_ = f.tr.Call(ctx, "request_begin", redisDown)
		if f.up(t) != 0 || f.tr.Up() {
			t.Fatalf("after 2 failures the gauge reads %v, want 0", f.up(t))
		}
		before := calls
		for range 10 {
			if err := f.tr.Call(ctx, "request_finish", redisUp); !errors.Is(err, redishealth.ErrUnavailable) {
				t.Fatalf("call while down = %v, want ErrUnavailable", err)
			}
		}
		if calls != before {
			t.Errorf("%d calls reached Redis while it was marked down", calls-before)
		}
		// Still down when tried: no new line.
		time.Sleep(redishealth.DefaultRetryAfter)
		_ = f.tr.Call(ctx, "request_begin", redisDown)
		if f.up(t) != 0 {
			t.Fatal("a failed try marked Redis up")
		}
		time.Sleep(redishealth.DefaultRetryAfter)
		if err := f.tr.Call(ctx, "request_begin", redisUp); err != nil || f.up(t) != 1 {
			t.Fatalf("try after Redis came back: %v, gauge %v", err, f.up(t))
		}
		if w, i := f.lines("WARN"), f.lines("INFO"); w != 1 || i != 1 {
			t.Errorf("log has %d WARN and %d INFO lines, want 1 and 1:\n%s", w, i, f.logs)
		}
		if !strings.Contains(f.logs.String(), errDown.Error()) {
			t.Errorf("the WARN line does not say why:\n%s", f.logs)
		}
		if b, fin := f.fallbacks("request_begin"), f.fallbacks("request_finish"); b != 3 || fin != 10 {
			t.Errorf("fallbacks: begin %v, finish %v; want 3 and 10", b, fin)
		}
	})
}

// A slow Redis is cut off at CallTimeout and counts as a failure; a caller
// that gives up itself does not count against Redis.
func TestCallTimeoutAndCallerCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
		start := time.Now()
		if err := f.tr.Call(t.Context(), "request_begin", hang); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hanging call = %v", err)
		}
		if d := time.Since(start); d != redishealth.DefaultCallTimeout {
			t.Errorf("hanging call took %v, want CallTimeout %v", d, redishealth.DefaultCallTimeout)
		}
		for range 5 {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			_ = f.tr.Call(ctx, "request_begin", hang)
		}
		if f.up(t) != 1 || f.fallbacks("request_begin") != 1 {
			t.Errorf("after callers gave up: gauge %v, fallbacks %v; want 1 and 1", f.up(t), f.fallbacks("request_begin"))
		}
	})
}

// Watch notices an outage and the recovery without any caller: a Redis
// that is down at start is reported within a few RetryAfter.
func TestWatchWithoutTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		var down atomic.Bool
		down.Store(true)
		ping := func(context.Context) error {
			if down.Load() {
				return errDown
			}
			return nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { f.tr.Watch(ctx, ping); close(done) }()
		time.Sleep(redishealth.DefaultRetryAfter)
		synctest.Wait()
		if f.up(t) != 0 {
			t.Fatal("Watch did not mark a dead Redis down")
		}
		down.Store(false)
		time.Sleep(redishealth.DefaultRetryAfter + redishealth.DefaultRetryAfter/2)
		synctest.Wait()
		if f.up(t) != 1 {
			t.Fatal("Watch did not mark Redis up again")
		}
		cancel()
		<-done
		if f.fallbacks("") != 0 {
			t.Error("Watch's pings counted as fallbacks")
		}
		if w := f.lines("WARN"); w != 1 {
			t.Errorf("%d WARN lines, want 1", w)
		}
	})
}

// The nil Tracker (no Redis health tracked) runs every call.
func TestNilTracker(t *testing.T) {
	var tr *redishealth.Tracker
	if err := tr.Call(t.Context(), "x", func(context.Context) error { return errDown }); err != errDown || !tr.Up() {
		t.Errorf("nil Tracker: %v, up %v", err, tr.Up())
	}
	tr.Watch(t.Context(), nil)
}

// The metrics pass promlint.
func TestMetricsLint(t *testing.T) {
	f := newFixture(t)
	_ = f.tr.Call(t.Context(), "request_begin", func(context.Context) error { return errDown })
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}
