package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every error the gateway
// returns (AIP-193); defined once, in rpcerr.
const ErrorDomain = rpcerr.Domain

// ErrorInfo reasons: stable, documented, safe to branch on.
const (
	ReasonInvalidArgument      = rpcerr.ReasonInvalidArgument
	ReasonAccountNotFound      = "ACCOUNT_NOT_FOUND"
	ReasonEEOUnavailable       = "EEO_UNAVAILABLE"
	ReasonEEOTimeout           = "EEO_TIMEOUT"
	ReasonEEORateLimited       = "EEO_RATE_LIMITED"
	ReasonEEOMalformedResponse = "EEO_MALFORMED_RESPONSE"
	ReasonEEOInvalidClient     = "EEO_INVALID_CLIENT"
	ReasonEEORejected          = "EEO_TOKEN_REQUEST_REJECTED"
	ReasonShuttingDown         = "SHUTTING_DOWN"
	ReasonDeadlineExceeded     = "DEADLINE_EXCEEDED"
	ReasonCancelled            = "CANCELLED"
	ReasonInternal             = "INTERNAL"
)

// retryInfo asks the caller to wait until at, at least a second from now.
func retryInfo(at, now time.Time) *errdetails.RetryInfo {
	d := at.Sub(now)
	if at.IsZero() || d < time.Second {
		d = time.Second
	}
	return rpcerr.RetryInfo(d.Round(time.Millisecond))
}

// toStatus turns an error from the token cache into a gRPC status. Messages
// say what failed and what to do; they never quote EEO's bodies.
func toStatus(err error, now time.Time) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	// A token request that timed out is EEO's timeout, though it wraps
	// context.DeadlineExceeded: look at the TokenError before the context
	// errors, which mean the caller's own deadline or cancellation.
	var te *auth.TokenError
	switch {
	case errors.As(err, &te):
		return tokenErrorStatus(err, te, now)
	case errors.Is(err, auth.ErrUnknownAccount):
		return rpcerr.New(codes.NotFound, ReasonAccountNotFound, err.Error(), nil)
	case errors.Is(err, context.DeadlineExceeded):
		return rpcerr.New(codes.DeadlineExceeded, ReasonDeadlineExceeded, "deadline exceeded while waiting for an EEO token", nil)
	case errors.Is(err, context.Canceled):
		return rpcerr.New(codes.Canceled, ReasonCancelled, "request cancelled", nil)
	case errors.Is(err, auth.ErrClosed):
		return rpcerr.New(codes.Unavailable, ReasonShuttingDown, "gateway is shutting down", nil, retryInfo(time.Time{}, now))
	}

	return rpcerr.New(codes.Internal, ReasonInternal, "internal error", nil)
}

// tokenErrorStatus maps a failed token request.
func tokenErrorStatus(err error, te *auth.TokenError, now time.Time) error {
	var fe *auth.FetchError
	md := map[string]string{}
	retryAt := time.Time{}
	if errors.As(err, &fe) {
		md["account"] = fe.Account
		retryAt = fe.RetryAt
	}
	if te.StatusCode != 0 {
		md["http_status"] = strconv.Itoa(te.StatusCode)
	}
	if te.OAuthError != "" {
		md["oauth_error"] = te.OAuthError
	}
	retry := retryInfo(retryAt, now)
	wait := fmt.Sprintf("; retry in %s", retry.GetRetryDelay().AsDuration().Round(time.Second).String())
	switch te.Kind {
	case auth.KindUnavailable:
		return rpcerr.New(codes.Unavailable, ReasonEEOUnavailable, "EEO token endpoint unavailable"+wait, md, retry)
	case auth.KindTimeout:
		return rpcerr.New(codes.Unavailable, ReasonEEOTimeout, "EEO token endpoint did not answer in time"+wait, md, retry)
	case auth.KindRateLimited:
		return rpcerr.New(codes.ResourceExhausted, ReasonEEORateLimited, "EEO is rate limiting token requests"+wait, md, retry)
	case auth.KindMalformed:
		return rpcerr.New(codes.Unavailable, ReasonEEOMalformedResponse, "EEO token endpoint sent a malformed response"+wait, md, retry)
	case auth.KindInvalidClient:
		return rpcerr.New(codes.FailedPrecondition, ReasonEEOInvalidClient,
			"EEO rejected the gateway's configured client credentials for this account; an operator must fix the client ID or secret", md)
	default:
		return rpcerr.New(codes.FailedPrecondition, ReasonEEORejected,
			"EEO refused the gateway's token request for this account; check the account's configuration", md)
	}
}

// reason returns the ErrorInfo reason toStatus would give err; empty for nil.
func reason(err error) string {
	if err == nil {
		return ""
	}
	if info := rpcerr.Info(toStatus(err, time.Now())); info != nil {
		return info.GetReason()
	}
	return ReasonInternal
}
