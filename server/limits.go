package server

import "time"

// Limits bound what a caller, authenticated or not, can make the gateway
// hold: request bodies, connections and streams. Zero fields take the
// defaults below.
type Limits struct {
	// AllowMethodOverride turns on grpc-gateway's X-HTTP-Method-Override
	// header and its POST-for-GET fallback for form-encoded bodies. Both
	// parse the form before routing and authentication; off by default.
	AllowMethodOverride bool
	// BodyReadTimeout bounds reading a whole REST request body other than
	// an upload's. Default 30s.
	BodyReadTimeout time.Duration
	// UploadIdleTimeout cuts off a REST upload whose body sends nothing for
	// this long; there is no total deadline, so large files still work.
	// Default 2m.
	UploadIdleTimeout time.Duration
}

// Defaults for Limits.
const (
	DefaultBodyReadTimeout   = 30 * time.Second
	DefaultUploadIdleTimeout = 2 * time.Minute
)

func (l *Limits) setDefaults() {
	if l.BodyReadTimeout <= 0 {
		l.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if l.UploadIdleTimeout <= 0 {
		l.UploadIdleTimeout = DefaultUploadIdleTimeout
	}
}
