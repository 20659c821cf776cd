package access

import (
	"strconv"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/grpc/codes"
)

// ErrorInfo reasons the Guard returns: stable, documented, safe to branch on.
const (
	// ReasonUnauthenticated: the call carried no credential the gateway
	// accepts (UNAUTHENTICATED).
	ReasonUnauthenticated = "CALLER_UNAUTHENTICATED"
	// ReasonTokenInvalid: a bearer token was presented but is not a known
	// API key or a valid JWT (UNAUTHENTICATED).
	ReasonTokenInvalid = "CALLER_TOKEN_INVALID"
	// ReasonPermissionDenied: the caller's policy does not grant the
	// method's permission on the account, or the method is not one the
	// gateway knows (PERMISSION_DENIED).
	ReasonPermissionDenied = "CALLER_PERMISSION_DENIED"
	// ReasonRateLimited: the caller exceeded its request rate
	// (RESOURCE_EXHAUSTED, with a RetryInfo).
	ReasonRateLimited = "CALLER_RATE_LIMITED"
	// ReasonReflectionDisabled: server reflection is switched off
	// (UNIMPLEMENTED).
	ReasonReflectionDisabled = "REFLECTION_DISABLED"
	// ReasonInvalidArgument: a stream ended before the message the Guard
	// needs to authorize it (INVALID_ARGUMENT). The server's own
	// INVALID_ARGUMENT: one constant, in rpcerr.
	ReasonInvalidArgument = rpcerr.ReasonInvalidArgument
)

// errTokenInvalid rejects a presented bearer token. why is one of a few
// fixed phrases ("token expired", "wrong audience", …): never the token, nor
// anything parsed out of it.
func errTokenInvalid(why string) error {
	return rpcerr.New(codes.Unauthenticated, ReasonTokenInvalid, "invalid credentials: "+why, nil)
}

// errPermissionDenied says which permission on which account the caller
// lacks, so an operator can fix the policy from the error alone.
func errPermissionDenied(c Caller, perm Permission, account, msg string) error {
	return rpcerr.New(codes.PermissionDenied, ReasonPermissionDenied, msg,
		// Clipped: both can come from the caller (an account of any size,
		// a JWT subject), and an error must not echo a megabyte back.
		map[string]string{"caller": clip(c.Name), "permission": string(perm), "account": clip(account)})
}

// errRateLimited asks the caller to come back after delay, which the REST
// facade turns into Retry-After.
func errRateLimited(c Caller, delay time.Duration) error {
	// Round up so a client that waits exactly the advertised delay finds a
	// token in the bucket.
	d := (delay + time.Millisecond - 1).Truncate(time.Millisecond)
	return rpcerr.New(codes.ResourceExhausted, ReasonRateLimited,
		"caller "+strconv.Quote(c.Name)+" is over its request rate; retry after "+d.String(),
		map[string]string{"caller": c.Name}, rpcerr.RetryInfo(d))
}
