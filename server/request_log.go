package server

import (
	"slices"
	"sync"
	"time"
)

// requestLog is the in-memory request-id log: the whole log of a single
// replica, and the fallback of a shared one (requests) while Redis is
// down. See requests for the semantics.
type requestLog struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[requestKey]*requestEntry // guarded by mu
	order   []orderSlot                  // guarded by mu; insertion order, for expiry
}

// orderSlot is one insertion into the log. An id forgotten and claimed
// again has two slots; only the one whose entry is still the id's counts.
type orderSlot struct {
	key requestKey
	e   *requestEntry
}

// stale reports whether s no longer holds its id's entry: the id was
// forgotten, and maybe claimed again (a later slot). Called with mu held.
func (l *requestLog) stale(s orderSlot) bool { return l.entries[s.key] != s.e }

type requestKey struct {
	account, kind, id string
}

type requestEntry struct {
	created     time.Time
	done        bool
	fingerprint string // what was asked for; set when done
	resultID    string // the created object; set when done
	// settled is closed (and dropped) when an in-progress entry is
	// finished, forgotten or evicted, waking the retries that wait for it;
	// nil once done.
	settled chan struct{}
}

func newRequestLog(ttl time.Duration, max int, now func() time.Time) *requestLog {
	return &requestLog{ttl: ttl, max: max, now: now, entries: map[requestKey]*requestEntry{}}
}

// begin claims key. A non-nil claim means the caller must run the request
// and then finish or forget the claim. Otherwise prior is the finished
// original, or wait is closed once the request in progress settles, when
// the caller begins again.
func (l *requestLog) begin(key requestKey) (claim *requestEntry, prior requestEntry, wait <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire()
	if e, ok := l.entries[key]; ok {
		if !e.done {
			return nil, requestEntry{}, e.settled
		}
		return nil, *e, nil
	}
	claim = &requestEntry{created: l.now(), settled: make(chan struct{})}
	l.add(key, claim)
	return claim, requestEntry{}, nil
}

// lookup is begin without the claim: the finished original, or a channel
// to wait on, or neither when key is unknown here.
func (l *requestLog) lookup(key requestKey) (prior requestEntry, found bool, wait <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire()
	e, ok := l.entries[key]
	switch {
	case !ok:
		return requestEntry{}, false, nil
	case !e.done:
		return requestEntry{}, true, e.settled
	}
	return *e, true, nil
}

// add inserts e. Called with mu held.
func (l *requestLog) add(key requestKey, e *requestEntry) {
	l.entries[key] = e
	l.order = append(l.order, orderSlot{key, e})
}

// finish records the success of claim, begun for key. A claim evicted
// while it ran is not the id's entry any more, and the entry that is (a
// retry's claim since) is not the caller's to settle.
func (l *requestLog) finish(key requestKey, claim *requestEntry, fingerprint, resultID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries[key] == claim {
		claim.complete(fingerprint, resultID)
	}
}

// complete records an in-progress entry's result and wakes its waiters.
func (e *requestEntry) complete(fingerprint, resultID string) {
	if !e.done {
		e.done, e.fingerprint, e.resultID = true, fingerprint, resultID
		e.settle()
	}
}

// settle wakes the waiters of an in-progress entry and lets the channel
// go (waiters hold their own reference): a remembered id costs no channel.
func (e *requestEntry) settle() {
	close(e.settled)
	e.settled = nil
}

// record remembers a finished request that was claimed elsewhere (in
// Redis, which failed to take its result), so retries reaching this
// replica still get it.
func (l *requestLog) record(key requestKey, fingerprint, resultID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[key]; ok {
		e.complete(fingerprint, resultID)
		return
	}
	l.expire()
	l.add(key, &requestEntry{created: l.now(), done: true, fingerprint: fingerprint, resultID: resultID})
}

// forget drops claim, begun for key, after a failure; as finish, only
// while it is still the id's entry.
func (l *requestLog) forget(key requestKey, claim *requestEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries[key] == claim && !claim.done {
		delete(l.entries, key)
		claim.settle()
	}
}

// expire drops entries older than ttl, and the oldest beyond max, so memory
// stays bounded whatever callers send. Called with mu held.
func (l *requestLog) expire() {
	cutoff := l.now().Add(-l.ttl)
	n := 0
	for _, s := range l.order {
		if l.stale(s) {
			n++
			continue
		}
		if len(l.entries) <= l.max && s.e.created.After(cutoff) {
			break
		}
		delete(l.entries, s.key)
		if !s.e.done {
			s.e.settle() // its waiters begin again, and one runs it
		}
		n++
	}
	clear(l.order[:n]) // let the dropped entries go
	l.order = l.order[n:]
	// Slots of ids forgotten behind a remembered one would pile up until
	// it expires; dropping them once they outnumber the entries keeps the
	// cost amortised O(1) per insertion.
	if len(l.order) > 2*len(l.entries)+compactSlack {
		l.order = slices.DeleteFunc(l.order, l.stale)
	}
}

// compactSlack spares a small log the compaction of a few stale slots.
const compactSlack = 64

// len is how many request ids are remembered, for the metric.
func (l *requestLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
