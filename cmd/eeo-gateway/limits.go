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
	}
}
