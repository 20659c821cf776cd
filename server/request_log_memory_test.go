package server

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkRequestLogBytesPerRecord reports what the idempotency log holds
// per remembered request_id when full (maxRequestIDs, 100k), with keys and
// results shaped like real ones: a 36-character request id, an import
// fingerprint with its SHA-256, a 36-character import id. Run with
// -benchtime=1x: each iteration builds a full log.
func BenchmarkRequestLogBytesPerRecord(b *testing.B) {
	sum := strings.Repeat("ab", 32)
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	var perRecord float64
	for b.Loop() {
		before := heapAlloc()
		l := newRequestLog(requestIDTTL, maxRequestIDs, now)
		for i := range maxRequestIDs {
			key := requestKey{account: "acme-plan", kind: "import", id: fmt.Sprintf("7d9f2a4e-1c3b-4f5a-9e8d-%012d", i)}
			claim, _, wait := l.begin(key)
			if claim == nil || wait != nil {
				b.Fatalf("begin %d: not the owner", i)
			}
			l.finish(key, claim, "participants\x00people-2026-01.csv\x00"+sum, fmt.Sprintf("imp_%032d", i))
		}
		perRecord = float64(heapAlloc()-before) / maxRequestIDs
		runtime.KeepAlive(l)
	}
	b.ReportMetric(perRecord, "bytes/record")
	b.ReportMetric(0, "ns/op")
}

// heapAlloc is the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
