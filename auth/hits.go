package auth

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	_ "unsafe" // for go:linkname
)

// hitCounts counts every account's cache hits exactly, without making the
// cores that serve hits write one shared cache line.
//
// One counter that every hit incremented was most of the cost of a hit
// under load: each increment pulled the line away from the other cores (on
// 2 cores, ~15 ns of a ~20 ns hit). So each P (the runtime's per-core
// scheduler slot) has its own row of counters, one per account, and a hit
// adds to its row; a scrape sums the rows. The sum is exact, and monotonic
// between scrapes because every counter only grows.
//
// Rows are padded apart by two cache lines, since adjacent-line
// prefetchers move lines in pairs. Accounts of one row share lines, but
// only the P that owns the row writes them (or, beyond maxHitRows Ps, the
// few that share it), so that costs nothing. Memory is 8 bytes per account
// per row: with 2 cores, 16 bytes per account instead of the 128 of a
// padded counter.
type hitCounts struct {
	n      []atomic.Int64 // rows of stride counters, after a linePad gap
	stride int            // counters per row, padding included
	mask   int            // rows - 1; rows is a power of two
}

// linePad is two cache lines of counters.
const linePad = 128 / 8

// maxHitRows caps the rows on a many-core machine, where Ps share them:
// memory stays at most 8×maxHitRows bytes per account.
const maxHitRows = 16

func newHitCounts(accounts int) *hitCounts {
	// Sized for GOMAXPROCS at construction. If it grows later, Ps share
	// rows (p & mask): still exact, only some contention comes back.
	rows := 1 << bits.Len(uint(max(runtime.GOMAXPROCS(0), 1)-1))
	rows = min(rows, maxHitRows)
	stride := (accounts+linePad-1)/linePad*linePad + linePad
	return &hitCounts{n: make([]atomic.Int64, linePad+rows*stride), stride: stride, mask: rows - 1}
}

// procPin returns the current P's id and keeps the goroutine on it until
// procUnpin. It is the runtime's (sync.Pool uses it too); the runtime
// keeps it linkable for the packages that use it this way. Only a
// counter's index depends on it: were it ever wrong, a hit would still be
// counted, in another row.
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// add counts one hit of the account with index i.
func (h *hitCounts) add(i int) {
	p := procPin()
	h.n[linePad+(p&h.mask)*h.stride+i].Add(1)
	procUnpin()
}

// load returns the hits of the account with index i.
func (h *hitCounts) load(i int) int64 {
	var sum int64
	for r := 0; r <= h.mask; r++ {
		sum += h.n[linePad+r*h.stride+i].Load()
	}
	return sum
}
