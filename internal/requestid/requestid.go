// Package requestid gives every call through the gateway an id: the one
// the caller sent in x-request-id (gRPC metadata, or the REST header) when
// it is well-formed, a new random one otherwise. The id is returned to the
// caller, written in the access log and the audit event, and sent to EEO as
// X-Request-Id, so one call can be followed across all three.
package requestid

import (
	"context"
	"crypto/rand"
)

// Where the id travels.
const (
	// MetadataKey is the gRPC metadata key, both ways.
	MetadataKey = "x-request-id"
	// Header is the HTTP header: REST requests and responses, and requests
	// to EEO.
	Header = "X-Request-Id"
)

// MaxLen bounds an accepted id: room for a UUID, a W3C trace id or a
// load balancer's id with a prefix, too short to bloat a log line.
const MaxLen = 128

// Valid reports whether s is an id the gateway keeps rather than
// replaces: 1 to MaxLen characters from letters, digits and "-_.:+/=@",
// so it is safe in a header, a log line and a URL-free context, and
// cannot carry free text.
func Valid(s string) bool {
	if s == "" || len(s) > MaxLen {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '/', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}

// New returns a fresh random id (26 base32 characters, 130 bits).
func New() string { return rand.Text() }

// Or returns s if it is Valid, else a New id.
func Or(s string) string {
	if Valid(s) {
		return s
	}
	return New()
}

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
