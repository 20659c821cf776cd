// Package callnote carries facts about how a call was served, which its
// response does not show, from the handler back to the interceptors around
// it. The access guard uses it to leave routine token-cache hits out of the
// audit log: the handler knows whether EEO was asked, the guard does not.
// Only code in this module can set a note: context values cannot come from
// the wire.
package callnote

import "context"

// Note is one call's facts. An interceptor creates it with With before
// calling the handler and reads it afterwards; the handler records into it
// on the same goroutine.
type Note struct {
	cacheHit bool
}

type key struct{}

// With returns ctx carrying a fresh Note, and the Note.
func With(ctx context.Context) (context.Context, *Note) {
	n := new(Note)
	return context.WithValue(ctx, key{}, n), n
}

// CacheHit records that ctx's call was served from the gateway's cache
// without reaching EEO. It does nothing when no interceptor asked (no
// Note in ctx).
func CacheHit(ctx context.Context) {
	if n, ok := ctx.Value(key{}).(*Note); ok {
		n.cacheHit = true
	}
}

// CacheHit reports whether the handler recorded a cache hit.
func (n *Note) CacheHit() bool { return n.cacheHit }
