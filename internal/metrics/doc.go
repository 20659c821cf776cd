// Package metrics holds eeo-gateway's Prometheus metrics that are not the
// server's own: the registry with build information, the token cache's
// collector, and the access guard's and EEO client's counters.
//
// Every metric is named eeo_gateway_*, except the Go runtime's, the
// process's and the gRPC server's standard ones. Label values come only
// from fixed sets or from configuration (account names, configured caller
// names): never a token, secret, API key, caller-supplied text, an import
// or report id or a raw path, so the number of series is bounded by the
// configuration.
package metrics
