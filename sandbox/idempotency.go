package sandbox

import (
	"net/http"
	"strings"
	"time"
)

const (
	// idempotencyTTL is how long a completed Idempotency-Key is remembered.
	idempotencyTTL = 24 * time.Hour
	// maxIdempotencyKeys bounds the completed keys remembered per store;
	// the oldest are forgotten first.
	maxIdempotencyKeys = 100_000
	// maxIdempotencyKeyLen is the contract's limit on the header.
	maxIdempotencyKeyLen = 255
)

// idemKey scopes an Idempotency-Key to the client that sent it.
type idemKey struct{ client, key string }

// idemEntry is a remembered Idempotency-Key. While id is empty the first
// request with the key is still being received.
type idemEntry struct {
	key idemKey
	fp  string    // fingerprint of the first request
	id  string    // the object it created
	at  time.Time // when that object was created
}

func (e *idemEntry) inFlight() bool { return e.id == "" }

// idemKeys remembers Idempotency-Keys. It has no lock of its own: the owning
// store's mutex guards it, so that looking a key up and creating the object
// are one atomic step.
type idemKeys struct {
	m    map[idemKey]*idemEntry
	done []*idemEntry // completed entries, oldest first
}

// get returns the live entry for k, or nil.
func (ks *idemKeys) get(k idemKey, now time.Time) *idemEntry {
	ks.expire(now)
	return ks.m[k]
}

// reserve records k as in flight, so a concurrent request with it is told
// idempotency_key_in_use rather than creating a second object.
func (ks *idemKeys) reserve(k idemKey) *idemEntry {
	if ks.m == nil {
		ks.m = make(map[idemKey]*idemEntry)
	}
	e := &idemEntry{key: k}
	ks.m[k] = e
	return e
}

// release forgets a reservation whose request created nothing, so the
// client can retry with the same key.
func (ks *idemKeys) release(e *idemEntry) {
	if ks.m[e.key] == e {
		delete(ks.m, e.key)
	}
}

// complete records that e's request created object id at at.
func (ks *idemKeys) complete(e *idemEntry, fp, id string, at time.Time) {
	e.fp, e.id, e.at = fp, id, at
	ks.done = append(ks.done, e)
	ks.expire(at)
}

// expire forgets completed entries past their TTL or beyond the bound.
// Entries complete in clock order, so the expired ones are a prefix.
func (ks *idemKeys) expire(now time.Time) {
	n := 0
	for n < len(ks.done) && (len(ks.done)-n > maxIdempotencyKeys || now.Sub(ks.done[n].at) >= idempotencyTTL) {
		ks.release(ks.done[n])
		n++
	}
	clear(ks.done[:n]) // drop the pointers so the entries can be collected
	ks.done = ks.done[n:]
}

// idempotencyKey returns the request's Idempotency-Key, "" if none.
func idempotencyKey(r *http.Request) (string, *apiError) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKeyLen || strings.ContainsFunc(key, func(c rune) bool { return c < 0x20 || c > 0x7e }) {
		return "", errRequest("Idempotency-Key", "must be at most 255 printable ASCII characters")
	}
	return key, nil
}

// idemCheck decides a request whose key is already known, given the entry
// and whether the request's fingerprint matches it. It returns nil when
// the original object should be answered.
func idemCheck(e *idemEntry, match bool) *apiError {
	switch {
	case e.inFlight():
		return errConflict("idempotency_key_in_use", "a request with this Idempotency-Key is still being processed")
	case !match:
		return errConflict("idempotency_key_reused", "this Idempotency-Key was used for a different request")
	}
	return nil
}
