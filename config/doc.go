// Package config is eeo-gateway's configuration: a YAML file, defaults for
// what it leaves out, environment overrides, and the EEO client secrets the
// accounts name.
//
// Load builds a Config in this order, later steps winning:
//
//  1. the YAML file, decoded strictly: an unknown or misspelt field is an
//     error, not a silently ignored line;
//  2. defaults for every field still at its zero value (see Default);
//  3. environment overrides (below);
//  4. each account's client secret, read from the environment variable named
//     by client_secret_env or the file named by client_secret_file, and,
//     with a redis section, its password and encryption key likewise;
//  5. Validate.
//
// Every error names what to fix: a field path such as
// "accounts[1].token_url", an environment variable, or a file path. No error
// ever contains a client secret. Each such field error is a *FieldError,
// and Check (behind `eeo-gateway check-config`) reports every problem at
// once with the line and column where the file writes the field.
//
// # Environment overrides
//
// These variables override the file, so one file can serve several
// deployments. An empty variable counts as unset.
//
//	Variable                          Field
//	EEO_GATEWAY_GRPC_ADDR             grpc_addr
//	EEO_GATEWAY_HTTP_ADDR             http_addr
//	EEO_GATEWAY_ADMIN_ADDR            admin_addr ("off" turns it off)
//	EEO_GATEWAY_LOG_LEVEL             log_level
//	EEO_GATEWAY_LOG_FORMAT            log_format
//	EEO_GATEWAY_SHUTDOWN_TIMEOUT      shutdown_timeout
//	EEO_GATEWAY_SHUTDOWN_DRAIN_DELAY  shutdown_drain_delay
//	EEO_GATEWAY_TOKEN_IDLE_TIMEOUT    token.idle_timeout
//	EEO_GATEWAY_TOKEN_FETCH_TIMEOUT   token.fetch_timeout
//
// Durations, in the file and in the environment, are Go duration strings
// ("3599s", "1h", "250ms") or numbers of seconds (3599, 0.25).
//
// # Secrets
//
// The file never holds a client secret, only where to find it, so it can be
// checked in and reviewed. Client secrets are auth.Secret values: printing,
// logging or JSON-encoding a Config shows "[REDACTED]".
//
// # Safety rules
//
// Validate also refuses configurations that would weaken the gateway: a
// plain http token_url or base_url to a host other than loopback (unless
// the account sets allow_insecure_upstream), two accounts sharing an EEO
// client (same client_id at the same token_url or base_url host), and
// access policies whose caller has no identity kind, could match nobody,
// or name an unknown account. Warnings and FilePermissionWarnings report
// what is allowed but risky, for the caller to log at start.
package config
