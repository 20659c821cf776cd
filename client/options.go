package client

import "time"

// Defaults of the Options.
const (
	// DefaultExpiryDelta is how long before a token's expire_time or
	// idle_expire_time the client stops reusing it and asks the gateway
	// again: the same margin x/oauth2 applies, enough for a request in
	// flight to reach EEO while the token is still good.
	DefaultExpiryDelta = 10 * time.Second
	// DefaultChunkSize is the size of each CreateImport chunk: large enough
	// to keep per-message overhead small, far below gRPC's 4 MiB default
	// message limit.
	DefaultChunkSize = 256 << 10
)

// An Option configures New.
type Option func(*options)

type options struct {
	now         func() time.Time
	expiryDelta time.Duration
	chunkSize   int
}

// WithClock sets the clock token reuse is judged by; the default is
// time.Now. Tests inject a fake one.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithExpiryDelta sets how long before a token's expiry it is replaced;
// default DefaultExpiryDelta. Negative values are treated as zero.
func WithExpiryDelta(d time.Duration) Option {
	return func(o *options) { o.expiryDelta = max(d, 0) }
}

// WithChunkSize sets the size of Upload's chunks; default DefaultChunkSize.
// Values below 1 KiB are raised to 1 KiB.
func WithChunkSize(n int) Option {
	return func(o *options) { o.chunkSize = max(n, 1<<10) }
}
