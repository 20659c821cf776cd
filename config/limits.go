package config

import "fmt"

// LimitsConfig bounds what any client, authenticated or not, can make the
// gateway hold: connections and not-yet-authenticated gRPC streams. Zero
// means the default given with each field.
type LimitsConfig struct {
	// MaxConnections bounds each listener's open connections; more are
	// closed at accept. Default 4096.
	MaxConnections int `json:"max_connections"`
	// MaxConnectionsPerPeer bounds one client address's connections to
	// each listener. Default 128.
	MaxConnectionsPerPeer int `json:"max_connections_per_peer"`
	// MaxPendingStreamsPerPeer bounds one address's gRPC calls that are not
	// yet authenticated (a JWT to verify, a public method) and whose
	// request has not arrived; more are RESOURCE_EXHAUSTED. Default 32.
	MaxPendingStreamsPerPeer int `json:"max_pending_streams_per_peer"`
	// PendingStreamTimeout cancels such a call whose request has not
	// arrived this long after its headers. Default 10s.
	PendingStreamTimeout Duration `json:"pending_stream_timeout"`
	// HandshakeTimeout bounds a gRPC connection's TLS handshake and HTTP/2
	// preface. Default 10s.
	HandshakeTimeout Duration `json:"handshake_timeout"`
	// ConnectionIdleTimeout closes a gRPC connection without calls for
	// this long. Default 5m.
	ConnectionIdleTimeout Duration `json:"connection_idle_timeout"`
}

// UnauthenticatedConfig bounds what failed authentication costs, per client
// address (access.Unauthenticated). Zero means the default.
type UnauthenticatedConfig struct {
	// PerSecond and Burst: failed JWT verifications an address may cause
	// before its JWTs are refused unverified (429
	// UNAUTHENTICATED_RATE_LIMITED). Defaults 5 and 20; a negative
	// per_second turns the limit off.
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
	// AuditBurst failures per address and AuditInterval get an audit event
	// each; the rest are one "audit summary" event with their count.
	// Defaults 1 and 1m.
	AuditBurst    int      `json:"audit_burst"`
	AuditInterval Duration `json:"audit_interval"`
}

func (l LimitsConfig) validate(p *problems) {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"limits.max_connections", l.MaxConnections},
		{"limits.max_connections_per_peer", l.MaxConnectionsPerPeer},
		{"limits.max_pending_streams_per_peer", l.MaxPendingStreamsPerPeer},
	} {
		if f.v < 0 {
			p.add(f.name, fmt.Errorf("must not be negative (0 means the default), got %d", f.v))
		}
	}
	if l.MaxConnections > 0 && l.MaxConnectionsPerPeer > l.MaxConnections {
		p.add("limits.max_connections_per_peer", fmt.Errorf("must not exceed limits.max_connections (%d), got %d", l.MaxConnections, l.MaxConnectionsPerPeer))
	}
	p.add("limits.pending_stream_timeout", checkNonNegative(l.PendingStreamTimeout))
	p.add("limits.handshake_timeout", checkNonNegative(l.HandshakeTimeout))
	p.add("limits.connection_idle_timeout", checkNonNegative(l.ConnectionIdleTimeout))
}

func (a AccessConfig) validateBounds(p *problems) {
	if a.MaxConcurrentTransfersPerCaller < 0 {
		p.add("access.max_concurrent_transfers_per_caller", fmt.Errorf("must not be negative (0 means the default, 32), got %d", a.MaxConcurrentTransfersPerCaller))
	}
	u := a.Unauthenticated
	if u.Burst < 0 {
		p.add("access.unauthenticated.burst", fmt.Errorf("must not be negative, got %d", u.Burst))
	}
	if u.AuditBurst < 0 {
		p.add("access.unauthenticated.audit_burst", fmt.Errorf("must not be negative, got %d", u.AuditBurst))
	}
	p.add("access.unauthenticated.audit_interval", checkNonNegative(u.AuditInterval))
}
