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
package eeo
