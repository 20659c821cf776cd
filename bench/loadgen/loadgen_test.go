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
		// 4 workers × 1s / 10ms.
		if r.Calls != 400 || r.Errors != 0 || len(r.Latencies) != 400 || r.Elapsed != time.Second {
			t.Fatalf("calls %d, errors %d, latencies %d in %v; want 400, 0, 400 in 1s", r.Calls, r.Errors, len(r.Latencies), r.Elapsed)
		}
		if r.Quantile(0.5) != 10*time.Millisecond || r.PerSecond() != 400 {
			t.Fatalf("p50 %v, %v/s; want 10ms, 400/s", r.Quantile(0.5), r.PerSecond())
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

func TestClosedLetsCallsInFlightFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Calls of 300ms in a 1s run: the fourth starts at 0.9s and
		// completes rather than being cancelled and counted as a failure.
		r := loadgen.Closed(t.Context(), 1, time.Second, func(ctx context.Context) error {
			select {
			case <-time.After(300 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if r.Calls != 4 || r.Errors != 0 || r.Elapsed != 1200*time.Millisecond {
			t.Fatalf("calls %d, errors %d in %v; want 4, 0 in 1.2s", r.Calls, r.Errors, r.Elapsed)
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

func TestClosedCPUChargesTheServersCPUPerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cpu atomic.Int64
		cpu.Store(int64(7 * time.Second)) // what the server used before the run
		clock := func() (time.Duration, error) { return time.Duration(cpu.Load()), nil }
		r, err := loadgen.ClosedCPU(t.Context(), 2, time.Second, func(ctx context.Context) error {
			cpu.Add(int64(20 * time.Microsecond))
			time.Sleep(time.Millisecond)
			return nil
		}, clock)
		if err != nil {
			t.Fatal(err)
		}
		if r.Calls != 2000 || r.ServerCPU != 40*time.Millisecond || r.ServerCPUPerCall() != 20*time.Microsecond {
			t.Fatalf("%d calls, server CPU %v (%v per call); want 2000 calls, 40ms, 20µs", r.Calls, r.ServerCPU, r.ServerCPUPerCall())
		}
	})
}

// Two slices of a run merge into the run they add up to: counts, times and
// CPU summed, latencies together and sorted, the first error kept.
func TestMergeAddsSlicesUp(t *testing.T) {
	first := errors.New("first")
	a := loadgen.Result{Calls: 3, Errors: 1, FirstError: first, Elapsed: time.Second,
		Latencies: []time.Duration{1, 5}, ServerCPU: 10, ClientCPU: 4}
	b := loadgen.Result{Calls: 2, Errors: 1, FirstError: errors.New("second"), Elapsed: time.Second,
		Latencies: []time.Duration{2}, ServerCPU: 6, ClientCPU: 2}
	m := a.Merge(b)
	if m.Calls != 5 || m.Errors != 2 || m.FirstError != first || m.Elapsed != 2*time.Second || m.ServerCPU != 16 || m.ClientCPU != 6 {
		t.Fatalf("merged %+v", m)
	}
	if len(m.Latencies) != 3 || m.Latencies[0] != 1 || m.Latencies[1] != 2 || m.Latencies[2] != 5 {
		t.Fatalf("latencies %v, want 1 2 5", m.Latencies)
	}
	if m.PerSecond() != 1.5 || m.ServerCPUPerCall() != 3 { // 3 successful calls in 2s; 16ns over 5 calls
		t.Fatalf("%v/s, %v/call", m.PerSecond(), m.ServerCPUPerCall())
	}
	if (loadgen.Result{}).Merge(b).FirstError != b.FirstError {
		t.Fatal("an empty run's missing error hid the other's")
	}
}
