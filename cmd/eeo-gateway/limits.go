package main

import (
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/server"
)

// serverLimits is the configuration's bounds on bodies, connections and
// streams, as the server takes them.
func serverLimits(cfg config.Config) server.Limits {
	return server.Limits{
		AllowMethodOverride: cfg.HTTP.AllowMethodOverride,
		BodyReadTimeout:     cfg.HTTP.BodyReadTimeout.Std(),
		UploadIdleTimeout:   cfg.HTTP.UploadIdleTimeout.Std(),

		MaxConnections:           cfg.Limits.MaxConnections,
		MaxConnectionsPerPeer:    cfg.Limits.MaxConnectionsPerPeer,
		MaxPendingStreamsPerPeer: cfg.Limits.MaxPendingStreamsPerPeer,
		PendingStreamTimeout:     cfg.Limits.PendingStreamTimeout.Std(),
		HandshakeTimeout:         cfg.Limits.HandshakeTimeout.Std(),
		ConnectionIdleTimeout:    cfg.Limits.ConnectionIdleTimeout.Std(),
	}
}
