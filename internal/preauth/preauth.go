// Package preauth carries, from a gRPC tap to the server, the fact that a
// call's caller was authenticated when its headers arrived, so the server
// does not hold the call to its limits on not-yet-authenticated streams.
// Only code in this module can set it: context values cannot come from the
// wire.
package preauth

import "context"

type authenticatedKey struct{}

// MarkAuthenticated records that ctx's call is authenticated.
func MarkAuthenticated(ctx context.Context) context.Context {
	return context.WithValue(ctx, authenticatedKey{}, true)
}

// Authenticated reports whether MarkAuthenticated was called on ctx's call.
func Authenticated(ctx context.Context) bool {
	v, _ := ctx.Value(authenticatedKey{}).(bool)
	return v
}
