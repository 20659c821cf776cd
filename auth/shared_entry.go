package auth

import (
	"slices"
	"sync"
	"sync/atomic"
)

// sharedEntry is what an entry needs only with a SharedStore, allocated
// only then, so an account costs no more without one.
type sharedEntry struct {
	// syncedUse is the lastUse of the current token that the shared store
	// already knows: the sync loop Touches the store only when lastUse has
	// moved past it.
	syncedUse atomic.Int64
	// noticed is set by a SharedNotifier notice until the sync loop
	// reconciles the account.
	noticed atomic.Bool

	changeMu sync.Mutex
	changed  chan struct{} // guarded by changeMu; closed by the next notice

	rejected  [rejectedKept]string // guarded by entry.mu; fingerprints invalidated here, never adopted again
	rejectedN int                  // guarded by entry.mu; next slot of rejected

	// unreadable limits the warning that the shared token cannot be read.
	unreadable unreadableLog
}

// rejectedKept is how many invalidated fingerprints an entry remembers, so
// a shared token that a failed InvalidateIf left behind is not adopted.
const rejectedKept = 4

// changes returns a channel closed by the next SharedNotifier notice for
// the account, so a replica waiting for another's token looks at once.
func (e *entry) changes() <-chan struct{} {
	s := e.shared
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// signalChange wakes whoever waits on changes.
func (e *entry) signalChange() {
	s := e.shared
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// reject remembers an invalidated fingerprint.
func (e *entry) reject(fp string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.shared
	if slices.Contains(s.rejected[:], fp) {
		return
	}
	s.rejected[s.rejectedN] = fp
	s.rejectedN = (s.rejectedN + 1) % rejectedKept
}

// isRejected reports whether fp was invalidated here.
func (e *entry) isRejected(fp string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(e.shared.rejected[:], fp)
}
