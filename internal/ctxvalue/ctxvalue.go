// Package ctxvalue puts one value in a context in one allocation, where
// context.WithValue and boxing the value into it are two. The gateway's
// guarded calls add three such values (the tap's screened caller, the
// access log's note, the guard's caller) on every GetToken, the hot path.
package ctxvalue

import "context"

// Context is a context carrying one V under the key type K, a comparable
// struct type unexported by its package so that only that package can set
// or read the value.
type Context[K comparable, V any] struct {
	context.Context
	// Val is the value carried. It may be updated in place by the
	// goroutines the context's owner allows to.
	Val V
}

// With returns ctx carrying v under K.
func With[K comparable, V any](ctx context.Context, v V) *Context[K, V] {
	return &Context[K, V]{Context: ctx, Val: v}
}

// From returns the value put under K nearest to ctx, if any.
func From[K comparable, V any](ctx context.Context) (*V, bool) {
	var k K
	c, ok := ctx.Value(k).(*Context[K, V])
	if !ok {
		return nil, false
	}
	return &c.Val, true
}

// Value answers for K with the Context itself (answering allocates
// nothing) and asks the parent for every other key.
func (c *Context[K, V]) Value(key any) any {
	if _, ok := key.(K); ok {
		return c
	}
	return c.Context.Value(key)
}
