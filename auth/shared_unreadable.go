package auth

import (
	"sync"
	"time"
)

// unreadableWarnEvery is how often the warning that an account's shared
// token cannot be read is repeated while its cause stays the same. With
// replicas on different encryption keys every sync round and every miss
// finds the token unreadable; a line per cause per interval says so
// without flooding the log, and the repeats are logged at debug level.
const unreadableWarnEvery = 10 * time.Minute

// unreadableLog decides when an account's unreadable shared token is worth
// a warning: the first time, as soon as the cause changes (the token is
// now under another key id), and every unreadableWarnEvery while it stays.
type unreadableLog struct {
	mu         sync.Mutex
	cause      string    // guarded by mu; the error last warned about
	at         time.Time // guarded by mu; when
	suppressed int       // guarded by mu; unreadable loads since, not warned about
}

// report records one unreadable load at now, failing with cause. It
// reports whether to warn, and if so how many since the last warning were
// not.
func (u *unreadableLog) report(cause string, now time.Time) (warn bool, suppressed int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if cause == u.cause && now.Sub(u.at) < unreadableWarnEvery {
		u.suppressed++
		return false, 0
	}
	suppressed = u.suppressed
	u.cause, u.at, u.suppressed = cause, now, 0
	return true, suppressed
}
