// Package server serves the gateway's API: the gRPC handlers of
// TokenService (backed by auth's token cache) and ImportReportService
// (backed by one eeo client per account), the grpc-gateway REST facade in
// front of them, and the operator endpoints (health, metrics, pprof).
//
// A call's way through, for gRPC and REST alike:
//
//   - REST requests are bounded first (bodies.go, hardening.go: size and
//     read deadline, UTF-8 paths, no method override unless configured),
//     then reach the same grpc.Server over an in-process connection
//     (internal_conn.go), so REST calls take the gRPC chain below. The
//     upload route POST /v1/accounts/{account}/imports is served by hand
//     (rest_files.go): grpc-gateway cannot stream a raw body into a
//     client-streaming RPC.
//   - Interceptors (interceptors.go): recovery, request logging, then
//     Config.UnaryInterceptors / StreamInterceptors (access's Guard).
//   - Handlers validate every field first (validate.go), then call the
//     token cache or the account's Upstream.
//   - Errors become a google.rpc.Status with an ErrorInfo built by
//     internal/rpcerr: errors.go maps the token cache's errors,
//     upstream_errors.go maps eeo's by its eeo.Code* constants. Every reason
//     is a Reason* constant listed in the README's error table (a test
//     checks both).
//
// Serve runs both listeners until its context ends, then drains: in-flight
// calls get Config.ShutdownTimeout, watches end with SHUTTING_DOWN.
package server
