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
	claim := func(id string) {
		t.Helper()
		if owner, _, _ := l.begin(key(id)); !owner {
			t.Fatalf("begin %s: not the owner", id)
		}
	}

	claim("x")
	l.finish(key("x"), "fp", "imp_x")
	claim("a")
	l.forget(key("a")) // the first attempt failed
	claim("a")         // the retry runs afresh and is still running
	claim("b")         // the log holds 3 ids, one over its bound: x, the oldest, goes

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
	l.begin(first)
	l.finish(first, "fp", "imp_kept")
	for i := range 10_000 {
		k := requestKey{account: "acme", kind: "import", id: fmt.Sprint(i)}
		if owner, _, _ := l.begin(k); !owner {
			t.Fatalf("begin %d: not the owner", i)
		}
		l.forget(k)
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
