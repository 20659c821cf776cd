// Package access decides who may call the gateway and what they may do.
//
// A Guard runs as a pair of gRPC interceptors. Because the REST facade
// calls the gRPC server, REST calls pass through the same checks; the
// facade forwards the Authorization header, and a REST client certificate
// reaches the Guard through Guard.ForwardCertificate. For each call, in
// order:
//
//  1. Public methods (health Check and Watch) pass untouched. Reflection
//     follows Config.Reflection; when off it is UNIMPLEMENTED for everyone.
//  2. Authentication: an "authorization: Bearer" token is an API key
//     (matched by SHA-256 in constant time) or else a JWT; without one, a
//     verified client certificate on the connection, or one forwarded by
//     the REST facade with a valid proof. A presented but invalid token
//     fails the call (CALLER_TOKEN_INVALID) even if a certificate would
//     do; no credential at all is CALLER_UNAUTHENTICATED.
//  3. Rate limit: a token bucket per caller name (CALLER_RATE_LIMITED,
//     with a RetryInfo).
//  4. Authorization, default deny: the method's permission from a fixed
//     table, on the account the request names (CALLER_PERMISSION_DENIED).
//     Methods missing from the table are denied. Streams whose account is
//     in the first message have it read and authorized before the handler
//     starts.
//  5. The handler runs with the caller in its context (CallerFrom). The
//     ListAccounts handler is also given the accounts the caller's policy
//     names (internal/accountview), to filter by before paging so pages
//     stay full; should it show any other account, the response is
//     trimmed to the policy's accounts.
//  6. Audit: one "audit" event for calls that hand out tokens, move data
//     or change state, whatever their outcome, and for every refused
//     authentication or authorization.
//
// The package never logs, returns or stores a presented credential: API
// keys are compared by hash, JWTs are reduced to their identity, and error
// messages are fixed phrases. Identities carry their kind (package
// identity), so an API key, a JWT and a certificate that share a name never
// share rights.
package access
