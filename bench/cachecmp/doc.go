// Package cachecmp benchmarks the gateway's token cache hit against the
// caches callers would otherwise use — golang.org/x/oauth2's
// ReuseTokenSource and cloud.google.com/go/auth's cached token provider —
// each wrapped around the same in-memory token source, so the difference is
// the cache alone.
package cachecmp
