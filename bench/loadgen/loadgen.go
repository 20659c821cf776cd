// Package loadgen drives a gateway with closed-loop load — a fixed number
// of workers each issuing calls back to back for a fixed time — and with
// bursts of concurrent calls, recording every call's latency. It is the
// suite's own ghz: calls are plain Go functions, so gRPC GetToken, gRPC
// Health/Check and REST GetToken are measured by the same loop.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/cpuclock"
)

// Call is one request; it returns nil on success.
type Call func(ctx context.Context) error

// Result summarises a run.
type Result struct {
	// Calls and Errors count completed calls and the failed ones among them.
	Calls, Errors int64
	// FirstError is the first failure, for the report.
	FirstError error
	// Elapsed is the run's wall time.
	Elapsed time.Duration
	// Latencies of the successful calls, sorted.
	Latencies []time.Duration
	// ServerCPU is the CPU time the server under test spent during the
	// run (ClosedCPU); zero when not measured.
	ServerCPU time.Duration
	// ClientCPU is the CPU time this process — the load generator —
	// spent during the run (ClosedCPU).
	ClientCPU time.Duration
}

// ClientCPUPerCall is the load generator's CPU time per completed call.
func (r Result) ClientCPUPerCall() time.Duration {
	if r.Calls == 0 {
		return 0
	}
	return r.ClientCPU / time.Duration(r.Calls)
}

// ServerCPUPerCall is the server's CPU time per completed call: on a
// machine shared with the load generator and other work it is steadier
// than calls/s, and says what the server itself costs.
func (r Result) ServerCPUPerCall() time.Duration {
	if r.Calls == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Calls)
}

// PerSecond is successful calls per second.
func (r Result) PerSecond() float64 {
	return float64(r.Calls-r.Errors) / r.Elapsed.Seconds()
}

// Quantile returns the q-quantile (0..1) of the successful calls' latency.
func (r Result) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := min(len(r.Latencies)-1, int(q*float64(len(r.Latencies))))
	return r.Latencies[i]
}

func (r Result) String() string {
	return fmt.Sprintf("%d calls (%d failed) in %v: %.0f/s, p50 %v, p99 %v",
		r.Calls, r.Errors, r.Elapsed.Round(time.Millisecond), r.PerSecond(),
		r.Quantile(0.5).Round(time.Microsecond), r.Quantile(0.99).Round(time.Microsecond))
}

// Closed runs concurrency workers, each calling call back to back, until
// duration has passed; calls then in flight finish and count (ending them
// by cancellation would count the cancellations as failures). ctx ends the
// run early.
func Closed(ctx context.Context, concurrency int, duration time.Duration, call Call) Result {
	type worker struct {
		lat      []time.Duration
		calls    int64
		errs     int64
		firstErr error
	}
	workers := make([]worker, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(duration)
	for i := range workers {
		w := &workers[i]
		w.lat = make([]time.Duration, 0, 1<<14)
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				err := call(ctx)
				d := time.Since(t0)
				w.calls++
				if err != nil {
					w.errs++
					if w.firstErr == nil {
						w.firstErr = err
					}
					continue
				}
				w.lat = append(w.lat, d)
			}
		})
	}
	wg.Wait()
	r := Result{Elapsed: time.Since(start)}
	for _, w := range workers {
		r.Calls += w.calls
		r.Errors += w.errs
		r.Latencies = append(r.Latencies, w.lat...)
		if r.FirstError == nil {
			r.FirstError = w.firstErr
		}
	}
	slices.Sort(r.Latencies)
	return r
}

// CPUClock reads the CPU time a process has used so far, such as
// benchstack.Stack.GatewayCPUTime.
type CPUClock func() (time.Duration, error)

// ClosedCPU is Closed that also records in ServerCPU what cpu says the
// server spent during the run, and in ClientCPU what this process spent.
func ClosedCPU(ctx context.Context, concurrency int, duration time.Duration, call Call, cpu CPUClock) (Result, error) {
	before, err := cpu()
	if err != nil {
		return Result{}, err
	}
	selfBefore := cpuclock.Self()
	r := Closed(ctx, concurrency, duration, call)
	r.ClientCPU = cpuclock.Self() - selfBefore
	after, err := cpu()
	if err != nil {
		return r, err
	}
	r.ServerCPU = after - before
	return r, nil
}

// Burst starts n calls at the same instant (each on its own goroutine,
// released together) and returns once all have ended. Each latency runs
// from the common release, so it includes the time a call spent waiting
// to be scheduled — what a caller in a stampede experiences.
func Burst(ctx context.Context, n int, call Call) Result {
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	release := make(chan struct{})
	var start time.Time
	for i := range n {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-release
			errs[i] = call(ctx)
			lat[i] = time.Since(start)
		})
	}
	ready.Wait()
	start = time.Now()
	close(release)
	done.Wait()
	r := Result{Calls: int64(n), Elapsed: time.Since(start)}
	for i, err := range errs {
		if err != nil {
			r.Errors++
			if r.FirstError == nil {
				r.FirstError = err
			}
			continue
		}
		r.Latencies = append(r.Latencies, lat[i])
	}
	slices.Sort(r.Latencies)
	return r
}

// Merge returns r and o as one run: a run measured in slices interleaved
// with other runs (so that each shares the machine's moods with the others)
// reports as the one run it adds up to.
func (r Result) Merge(o Result) Result {
	out := Result{
		Calls:      r.Calls + o.Calls,
		Errors:     r.Errors + o.Errors,
		FirstError: r.FirstError,
		Elapsed:    r.Elapsed + o.Elapsed,
		ServerCPU:  r.ServerCPU + o.ServerCPU,
		ClientCPU:  r.ClientCPU + o.ClientCPU,
	}
	if out.FirstError == nil {
		out.FirstError = o.FirstError
	}
	out.Latencies = make([]time.Duration, 0, len(r.Latencies)+len(o.Latencies))
	out.Latencies = append(append(out.Latencies, r.Latencies...), o.Latencies...)
	slices.Sort(out.Latencies)
	return out
}

// ErrEmpty is returned by Check for a run in which nothing succeeded.
var ErrEmpty = errors.New("loadgen: no call succeeded")

// Check returns the run's first error if more than a thousandth of its
// calls failed, or ErrEmpty if none succeeded: a benchmark of failures
// measures nothing.
func (r Result) Check() error {
	switch {
	case r.Calls == r.Errors:
		if r.FirstError != nil {
			return fmt.Errorf("%w: %w", ErrEmpty, r.FirstError)
		}
		return ErrEmpty
	case r.Errors*1000 > r.Calls:
		return fmt.Errorf("%d of %d calls failed, first: %w", r.Errors, r.Calls, r.FirstError)
	}
	return nil
}
