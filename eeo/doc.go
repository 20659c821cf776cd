// Package eeo is the gateway's client for EEO's import and report API: the
// only code that knows those endpoints' paths and JSON shapes (see
// docs/eeo-upstream.md, "Imports and reports").
//
// A Client serves one configured account. Every call takes a bearer token
// from a TokenSource (the auth cache), and when EEO answers 401 it drops that
// token, takes a fresh one and tries once more — unless the request body was
// a stream that has already been partly sent, which cannot be sent again.
//
// Failures are *Error values whose messages name the operation, the HTTP
// status and EEO's error code, never a token or text EEO sent. Failures of a
// caller's upload body are *BodyError, so "my input failed" can be told from
// "EEO failed"; failures of the TokenSource come back wrapped unchanged.
//
// A Client also protects EEO and its callers from each other (see Options):
//
//   - Idempotent calls are retried after transport errors, 429 and 500, 502,
//     503 and 504, with exponential backoff and full jitter, honouring
//     Retry-After, within a bounded number of attempts and time
//     (RetryPolicy). Uploads are never retried.
//   - A circuit breaker fails calls fast, with Code "circuit_open", while
//     EEO keeps failing, and probes it again after a while (BreakerPolicy).
//   - At most MaxConcurrent requests per Client (so per account) are in
//     flight; the rest wait within their context, or fail with Code
//     "concurrency_limited".
//   - Non-streaming calls have an overall deadline (OperationTimeout);
//     uploads and downloads instead fail when they stall
//     (StreamIdleTimeout).
//
// Every call takes the same road, in this order: the breaker, a
// concurrency slot, the time limit, then the attempts (a token, the
// request, one more try with a fresh token after a 401, the answer). An
// Observer (Options.Observer) sees each step, for metrics and tracing.
package eeo
