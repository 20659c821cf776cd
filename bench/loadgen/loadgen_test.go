package loadgen_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/bench/loadgen"
)

func TestClosedCountsCallsAndLatencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		r := loadgen.Closed(t.Context(), 4, time.Second, func(ctx context.Context) error {
			n.Add(1)
			time.Sleep(10 * time.Millisecond)
			return nil
		})
		// 4 workers × 1s / 10ms, give or take a call started just as the
		// run ended.
		if r.Calls < 400 || r.Calls > 404 || r.Errors != 0 || int64(len(r.Latencies)) != r.Calls {
			t.Fatalf("calls %d, errors %d, latencies %d; want about 400, 0, one per call", r.Calls, r.Errors, len(r.Latencies))
		}
		if r.Quantile(0.5) != 10*time.Millisecond || r.PerSecond() < 400 || r.PerSecond() > 404 {
			t.Fatalf("p50 %v, %v/s; want 10ms, about 400/s", r.Quantile(0.5), r.PerSecond())
		}
		if err := r.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBurstReleasesAllTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight, peak atomic.Int64
		r := loadgen.Burst(t.Context(), 1000, func(ctx context.Context) error {
			peak.Store(max(peak.Load(), inFlight.Add(1)))
			time.Sleep(50 * time.Millisecond)
			inFlight.Add(-1)
			return nil
		})
		if peak.Load() != 1000 || r.Quantile(0.99) != 50*time.Millisecond || r.Errors != 0 {
			t.Fatalf("peak concurrency %d, p99 %v; want 1000 at once, 50ms", peak.Load(), r.Quantile(0.99))
		}
	})
}

func TestCheckRejectsFailingRuns(t *testing.T) {
	boom := errors.New("boom")
	synctest.Test(t, func(t *testing.T) {
		r := loadgen.Burst(t.Context(), 10, func(context.Context) error { return boom })
		if err := r.Check(); !errors.Is(err, loadgen.ErrEmpty) || !errors.Is(err, boom) {
			t.Fatalf("Check = %v, want ErrEmpty wrapping the failure", err)
		}
	})
}
