package server

import (
	"fmt"
	"testing"
	"time"
)

// An id forgotten after a failure and then claimed again counts once
// against the log's bound: the ids beside it are not evicted early, and the
// new claim is not evicted before the ids older than it (which would let a
// waiting retry run the request a second time).
func TestRequestLogReclaimedIDCountsOnce(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRequestLog(time.Hour, 2, func() time.Time { return now })
	key := func(id string) requestKey { return requestKey{account: "acme", kind: "import", id: id} }
	claim := func(id string) *requestEntry {
		t.Helper()
		c, _, _ := l.begin(key(id))
		if c == nil {
			t.Fatalf("begin %s: not the owner", id)
		}
		return c
	}

	l.finish(key("x"), claim("x"), "fp", "imp_x")
	l.forget(key("a"), claim("a")) // the first attempt failed
	claim("a")                     // the retry runs afresh and is still running
	claim("b")                     // the log holds 3 ids, one over its bound: x, the oldest, goes

	if _, found, wait := l.lookup(key("a")); !found || wait == nil {
		t.Errorf("the running retry of a: found %v, waitable %v; want it still claimed", found, wait != nil)
	}
	if _, found, _ := l.lookup(key("b")); !found {
		t.Error("b was evicted though the log holds only its bound")
	}
	if _, found, _ := l.lookup(key("x")); found {
		t.Error("x, the oldest id beyond the bound, is still remembered")
	}
	if n := l.len(); n != 2 {
		t.Errorf("the log remembers %d ids, want its bound, 2", n)
	}
}

// Ids that fail and are forgotten behind one that is remembered cost
// nothing once gone: the log's memory stays bounded by the ids it holds,
// not by how many failed requests it has seen in a day.
func TestRequestLogForgottenIDsDoNotAccumulate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRequestLog(time.Hour, 100, func() time.Time { return now })
	first := requestKey{account: "acme", kind: "import", id: "kept"}
	c, _, _ := l.begin(first)
	l.finish(first, c, "fp", "imp_kept")
	for i := range 10_000 {
		k := requestKey{account: "acme", kind: "import", id: fmt.Sprint(i)}
		c, _, _ := l.begin(k)
		if c == nil {
			t.Fatalf("begin %d: not the owner", i)
		}
		l.forget(k, c)
	}
	l.mu.Lock()
	slots := len(l.order)
	l.mu.Unlock()
	if slots > 100 {
		t.Errorf("after 10000 forgotten ids the log keeps %d slots for the 1 it remembers", slots)
	}
	if _, found, _ := l.lookup(first); !found || l.len() != 1 {
		t.Errorf("remembered id found %v, log length %d; want it kept, alone", found, l.len())
	}
}

// A claim evicted while its request runs (the log overflowed) and the id
// claimed again by a retry: the first owner's failure does not drop the
// retry's claim (which would let a third caller run the request too), and
// its success does not settle the retry's claim with its own result.
func TestRequestLogEvictedOwnerLeavesTheNextClaimAlone(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, end := range []string{"forget", "finish"} {
		l := newRequestLog(time.Hour, 1, func() time.Time { return now })
		k, other := requestKey{account: "acme", kind: "report", id: "k"}, requestKey{account: "acme", kind: "report", id: "other"}
		first, _, _ := l.begin(k)
		l.begin(other)             // one over the bound, evicted at the next look
		second, _, _ := l.begin(k) // evicts the first claim; a retry takes the id
		if first == nil || second == nil {
			t.Fatalf("claims %v and %v; want the first evicted and the id claimed again", first, second)
		}
		switch end {
		case "forget":
			l.forget(k, first)
		case "finish":
			l.finish(k, first, "fp", "rep_first")
		}
		if _, found, wait := l.lookup(k); !found || wait == nil {
			t.Errorf("after the evicted owner's %s: found %v, in progress %v; want the retry's claim still running", end, found, wait != nil)
		}
		if c, _, _ := l.begin(k); c != nil {
			t.Errorf("after the evicted owner's %s a third caller owns the id", end)
		}
	}
}
