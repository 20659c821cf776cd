// Package auth holds EEO client credentials and the per-account access-token
// cache every upstream call goes through.
//
// EEO issues tokens through an OAuth 2.0 client-credentials grant
// (ClientCredentials). A token that sees no API request for 3599 seconds
// becomes inactive, so Cache tracks an idle deadline that slides with each
// use as well as the absolute expiry from expires_in, refreshes ahead of
// expiry in the background, and lets concurrent callers on a cold account
// share one token request.
//
// Credentials and tokens are Secret values: they print as "[REDACTED]".
package auth
