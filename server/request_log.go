package server

import (
	"sync"
	"time"
)

// requestLog makes create requests idempotent by request_id, per account
// (IETF draft-ietf-httpapi-idempotency-key-header; Stripe's semantics):
//
//   - the first request with an id runs and its result is remembered;
//   - a retry with the same id while the first still runs fails with
//     ABORTED (REQUEST_IN_PROGRESS) and creates nothing;
//   - a retry after it succeeded gets the original object back if it asks
//     for the same thing, or ALREADY_EXISTS (REQUEST_ID_REUSED) if not;
//   - a first request that failed is forgotten, so a retry runs afresh.
//
// The id is also sent to EEO as Idempotency-Key, which covers retries that
// reach another gateway replica or outlive this process; this log covers
// EEO's behaviour with the key being unknown.
type requestLog struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[requestKey]*requestEntry // guarded by mu
	order   []requestKey                 // guarded by mu; insertion order, for expiry
}

type requestKey struct {
	account, kind, id string
}

type requestEntry struct {
	created     time.Time
	done        bool
	fingerprint string // what was asked for; set when done
	resultID    string // the created object; set when done
}

func newRequestLog(ttl time.Duration, max int, now func() time.Time) *requestLog {
	return &requestLog{ttl: ttl, max: max, now: now, entries: map[requestKey]*requestEntry{}}
}

// begin claims key. owner is true when the caller must run the request and
// then call finish or forget. Otherwise prior is the finished original, or
// the error is REQUEST_IN_PROGRESS.
func (l *requestLog) begin(key requestKey) (owner bool, prior requestEntry, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire()
	if e, ok := l.entries[key]; ok {
		if !e.done {
			return false, requestEntry{}, requestInProgress()
		}
		return false, *e, nil
	}
	l.entries[key] = &requestEntry{created: l.now()}
	l.order = append(l.order, key)
	return true, requestEntry{}, nil
}

// finish records the owner's success.
func (l *requestLog) finish(key requestKey, fingerprint, resultID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[key]; ok {
		e.done, e.fingerprint, e.resultID = true, fingerprint, resultID
	}
}

// forget drops the owner's claim after a failure.
func (l *requestLog) forget(key requestKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[key]; ok && !e.done {
		delete(l.entries, key)
	}
}

// expire drops entries older than ttl, and the oldest beyond max, so memory
// stays bounded whatever callers send. Called with mu held.
func (l *requestLog) expire() {
	cutoff := l.now().Add(-l.ttl)
	n := 0
	for _, k := range l.order {
		e, ok := l.entries[k]
		if !ok {
			n++
			continue
		}
		if len(l.order)-n <= l.max && e.created.After(cutoff) {
			break
		}
		delete(l.entries, k)
		n++
	}
	l.order = l.order[n:]
}

// len is how many request ids are remembered, for the metric.
func (l *requestLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
