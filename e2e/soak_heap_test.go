package e2e_test

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
)

// soakMemProfileRate is how finely the soak samples allocations for
// heapOwners: one sample per 16 KiB allocated on average (the default is
// 512 KiB), so a gateway heap of a few MiB is estimated from hundreds of
// samples, for a few percent of the soak's CPU.
const soakMemProfileRate = 16 << 10

func init() {
	// The memory profile's rate must be set before the allocations it is
	// to see, so before the test starts its stack.
	if os.Getenv(soakEnv) != "" {
		runtime.MemProfileRate = soakMemProfileRate
	}
}

// Import path prefixes that decide whose an allocation is.
const (
	modulePrefix  = "github.com/eeo-gateway/eeo-gateway/"
	sandboxPrefix = modulePrefix + "sandbox."
	loadPrefix    = modulePrefix + "e2e_test."
)

// heapShares is the live heap split by owner.
type heapShares struct {
	// Gateway is everything that is neither the sandbox's nor the load's.
	Gateway uint64
	// Orphan is the part of Gateway allocated with no frame of this
	// module within the profile's stack depth (32 frames): mostly the
	// gRPC and HTTP transports' buffers, the gateway's and the sandbox's
	// alike, counted against the gateway to be safe.
	Orphan uint64
	// Sandbox is EEO's simulator: its stored imports and reports above
	// all, which a real gateway does not hold.
	Sandbox uint64
	// Load is this test's own: the load's bookkeeping of every call.
	Load uint64
}

// heapOwners estimates the live heap after a collection from the memory
// profile, and gives each allocation to the innermost frame of this module
// on its stack: sandbox code owns what it allocates (storage included,
// through whatever library it calls), this test owns its load's
// bookkeeping, and every other package of the module is the gateway. The
// sandbox runs in the test's process, so the process heap alone would count
// everything EEO stored during the soak against the gateway.
func heapOwners() heapShares {
	runtime.GC() // the profile shows the heap as of the last finished cycle
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(nil, false)
		recs = make([]runtime.MemProfileRecord, n+64)
		if n, ok = runtime.MemProfile(recs, false); ok {
			recs = recs[:n]
			break
		}
	}
	var h heapShares
	for _, r := range recs {
		bytes := scaledInUse(r.InUseObjects(), r.InUseBytes(), int64(runtime.MemProfileRate))
		switch owner := ownerOf(r.Stack()); owner {
		case sandboxPrefix:
			h.Sandbox += bytes
		case loadPrefix:
			h.Load += bytes
		case "":
			h.Orphan += bytes
			h.Gateway += bytes
		default:
			h.Gateway += bytes
		}
	}
	return h
}

// ownerOf returns sandboxPrefix, loadPrefix or modulePrefix for the
// innermost frame of this module on stack, or "" if there is none.
func ownerOf(stack []uintptr) string {
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		switch {
		case strings.HasPrefix(f.Function, sandboxPrefix):
			return sandboxPrefix
		case strings.HasPrefix(f.Function, loadPrefix):
			return loadPrefix
		case strings.HasPrefix(f.Function, modulePrefix):
			return modulePrefix
		}
		if !more {
			return ""
		}
	}
}

// scaledInUse undoes the profile's sampling the way pprof does: an
// allocation of size s is sampled with probability 1-exp(-s/rate).
func scaledInUse(objects, bytes, rate int64) uint64 {
	if objects <= 0 || bytes <= 0 {
		return 0
	}
	if rate <= 1 {
		return uint64(bytes)
	}
	avg := float64(bytes) / float64(objects)
	return uint64(float64(bytes) / (1 - math.Exp(-avg/float64(rate))))
}

// soakHeapLine is the summary line make bench-report reads
// (bench/cmd/benchreport parses "gateway heap after the soak: N MiB").
func soakHeapLine(h heapShares, objects int64) string {
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	return fmt.Sprintf("  gateway heap after the soak: %.1f MiB live after a GC (memory profile sampled every %d KiB; %.1f MiB of it in "+
		"transport buffers with no gateway frame, the sandbox's included), excluding the sandbox's %.1f MiB (%d imports and reports stored) "+
		"and the load's own %.1f MiB\n",
		mib(h.Gateway), soakMemProfileRate>>10, mib(h.Orphan), mib(h.Sandbox), objects, mib(h.Load))
}
