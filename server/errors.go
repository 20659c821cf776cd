package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every error the gateway
// returns (AIP-193).
const ErrorDomain = "eeo-gateway"

// ErrorInfo reasons: stable, documented, safe to branch on.
const (
	ReasonInvalidArgument      = "INVALID_ARGUMENT"
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

// statusError builds a google.rpc.Status carrying an ErrorInfo and any other
// details given.
func statusError(code codes.Code, reason, msg string, metadata map[string]string, details ...*errdetails.RetryInfo) error {
	st := status.New(code, msg)
	info := &errdetails.ErrorInfo{Domain: ErrorDomain, Reason: reason, Metadata: metadata}
	withInfo, err := st.WithDetails(info)
	if err != nil {
		return st.Err()
	}
	for _, d := range details {
		if d != nil {
			if next, err := withInfo.WithDetails(d); err == nil {
				withInfo = next
			}
		}
	}
	return withInfo.Err()
}

// invalidArgument reports a bad request field with a BadRequest detail.
func invalidArgument(field, description string) error {
	st := status.New(codes.InvalidArgument, fmt.Sprintf("invalid %s: %s", field, description))
	st, _ = st.WithDetails(
		&errdetails.ErrorInfo{Domain: ErrorDomain, Reason: ReasonInvalidArgument, Metadata: map[string]string{"field": field}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}}},
	)
	return st.Err()
}

// retryInfo asks the caller to wait until at, at least a second from now.
func retryInfo(at, now time.Time) *errdetails.RetryInfo {
	d := at.Sub(now)
	if at.IsZero() || d < time.Second {
		d = time.Second
	}
	return &errdetails.RetryInfo{RetryDelay: durationpb.New(d.Round(time.Millisecond))}
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
		return statusError(codes.NotFound, ReasonAccountNotFound, err.Error(), nil)
	case errors.Is(err, context.DeadlineExceeded):
		return statusError(codes.DeadlineExceeded, ReasonDeadlineExceeded, "deadline exceeded while waiting for an EEO token", nil)
	case errors.Is(err, context.Canceled):
		return statusError(codes.Canceled, ReasonCancelled, "request cancelled", nil)
	case errors.Is(err, auth.ErrClosed):
		return statusError(codes.Unavailable, ReasonShuttingDown, "gateway is shutting down", nil, retryInfo(time.Time{}, now))
	}

	return statusError(codes.Internal, ReasonInternal, "internal error", nil)
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
		return statusError(codes.Unavailable, ReasonEEOUnavailable, "EEO token endpoint unavailable"+wait, md, retry)
	case auth.KindTimeout:
		return statusError(codes.Unavailable, ReasonEEOTimeout, "EEO token endpoint did not answer in time"+wait, md, retry)
	case auth.KindRateLimited:
		return statusError(codes.ResourceExhausted, ReasonEEORateLimited, "EEO is rate limiting token requests"+wait, md, retry)
	case auth.KindMalformed:
		return statusError(codes.Unavailable, ReasonEEOMalformedResponse, "EEO token endpoint sent a malformed response"+wait, md, retry)
	case auth.KindInvalidClient:
		return statusError(codes.FailedPrecondition, ReasonEEOInvalidClient,
			"EEO rejected the gateway's configured client credentials for this account; an operator must fix the client ID or secret", md)
	default:
		return statusError(codes.FailedPrecondition, ReasonEEORejected,
			"EEO refused the gateway's token request for this account; check the account's configuration", md)
	}
}

// reason returns the ErrorInfo reason toStatus would give err; empty for nil.
func reason(err error) string {
	if err == nil {
		return ""
	}
	st, _ := status.FromError(toStatus(err, time.Now()))
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ReasonInternal
}

// retryAfterSeconds is the HTTP Retry-After value for a RetryInfo delay.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}
