// Package client is the Go client library of eeo-gateway for internal
// services: a few lines give them EEO access tokens in the shapes Go code
// already consumes, and file transfers that check their own integrity.
//
//   - [Client.TokenSource] is an oauth2.TokenSource per account backed by
//     TokenService.GetToken, so code built on golang.org/x/oauth2 just works;
//     it reuses a token until shortly before the gateway would stop serving it.
//   - [Client.PerRPCCredentials] attaches the token to gRPC calls to
//     EEO-facing services.
//   - [Client.Transport] is an http.RoundTripper for requests to EEO: it
//     attaches the token and, when EEO answers 401, reports that token to
//     InvalidateToken, takes a new one and retries once (replayable requests
//     only).
//   - [Client.Upload] streams an import from an io.Reader in chunks, with a
//     request id and the file's SHA-256; [Client.Download] writes a report to
//     an io.Writer and verifies its SHA-256.
//
// The package depends only on the generated stubs (their own module,
// github.com/eeo-gateway/eeo-gateway/gen/eeo), gRPC and x/oauth2, never on
// the gateway's server packages. It is not the operator CLI's client
// (cmd/eeo-gateway/internal/client), which prints for humans.
package client
