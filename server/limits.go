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

	// MaxConnections bounds the open connections of each listener (gRPC,
	// REST); more are closed as soon as they are accepted. Default 4096.
	MaxConnections int
	// MaxConnectionsPerPeer bounds one peer address's open connections to
	// each listener, so one client cannot use up MaxConnections. Default
	// 128.
	MaxConnectionsPerPeer int
	// MaxPendingStreamsPerPeer bounds one peer address's gRPC streams whose
	// first request message has not yet arrived: with the receive limit,
	// what an unauthenticated peer can make the gateway buffer. More are
	// refused at their headers with RESOURCE_EXHAUSTED. Default 32.
	MaxPendingStreamsPerPeer int
	// PendingStreamTimeout cancels a gRPC stream whose first request
	// message has not arrived this long after its headers. Default 10s.
	PendingStreamTimeout time.Duration
	// HandshakeTimeout bounds a new gRPC connection's TLS handshake and
	// HTTP/2 preface. Default 10s.
	HandshakeTimeout time.Duration
	// ConnectionIdleTimeout closes a gRPC connection that has had no
	// stream for this long (clients reconnect transparently). Default 5m.
	ConnectionIdleTimeout time.Duration

	// OnRefused, if set, is called once for every connection or stream a
	// limit refuses, with one of the Reason* constants of this file: the
	// place for a metrics counter. It must not block.
	OnRefused func(reason string)
}

// Defaults for Limits.
const (
	DefaultBodyReadTimeout          = 30 * time.Second
	DefaultUploadIdleTimeout        = 2 * time.Minute
	DefaultMaxConnections           = 4096
	DefaultMaxConnectionsPerPeer    = 128
	DefaultMaxPendingStreamsPerPeer = 32
	DefaultPendingStreamTimeout     = 10 * time.Second
	DefaultHandshakeTimeout         = 10 * time.Second
	DefaultConnectionIdleTimeout    = 5 * time.Minute
)

func (l *Limits) setDefaults() {
	orDefault(&l.BodyReadTimeout, DefaultBodyReadTimeout)
	orDefault(&l.UploadIdleTimeout, DefaultUploadIdleTimeout)
	orDefault(&l.MaxConnections, DefaultMaxConnections)
	orDefault(&l.MaxConnectionsPerPeer, DefaultMaxConnectionsPerPeer)
	orDefault(&l.MaxPendingStreamsPerPeer, DefaultMaxPendingStreamsPerPeer)
	orDefault(&l.PendingStreamTimeout, DefaultPendingStreamTimeout)
	orDefault(&l.HandshakeTimeout, DefaultHandshakeTimeout)
	orDefault(&l.ConnectionIdleTimeout, DefaultConnectionIdleTimeout)
}

// refused counts one refusal.
func (l *Limits) refused(reason string) {
	if l.OnRefused != nil {
		l.OnRefused(reason)
	}
}

// orDefault sets a zero or negative *p to def.
func orDefault[T int | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}
