// Package rpcerr shapes every error the gateway returns over gRPC the same
// way (AIP-193): a google.rpc.Status whose first detail is an ErrorInfo in
// the gateway's Domain, followed by a BadRequest or RetryInfo where one
// helps the caller. server/ and access/ both build their errors here, so the
// domain and the shared reasons are defined once.
package rpcerr

import (
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Domain is the google.rpc.ErrorInfo domain of every error the gateway
// returns. Callers branch on (Domain, reason), so changing it is a breaking
// change for them.
const Domain = "eeo-gateway.github.io"

// ReasonInvalidArgument is the reason for a request field the gateway
// refused before doing anything (INVALID_ARGUMENT). Both the handlers and
// the caller guard use it.
const ReasonInvalidArgument = "INVALID_ARGUMENT"

// New returns a status error with code and msg whose details are an
// ErrorInfo (Domain, reason, md) followed by details, in order. A nil
// detail is skipped. If a detail cannot be encoded the error still carries
// everything before it: an error with fewer details beats no error.
func New(code codes.Code, reason, msg string, md map[string]string, details ...protoadapt.MessageV1) error {
	st := status.New(code, msg)
	with, err := st.WithDetails(&errdetails.ErrorInfo{Domain: Domain, Reason: reason, Metadata: md})
	if err != nil {
		return st.Err()
	}
	for _, d := range details {
		if d == nil {
			continue
		}
		if next, err := with.WithDetails(d); err == nil {
			with = next
		}
	}
	return with.Err()
}

// InvalidField is INVALID_ARGUMENT (ReasonInvalidArgument) for one request
// field, with the field in the ErrorInfo metadata and a BadRequest field
// violation, so a client can point at the field without parsing msg.
func InvalidField(field, description string) error {
	return New(codes.InvalidArgument, ReasonInvalidArgument, "invalid "+field+": "+description,
		map[string]string{"field": field}, BadRequest(field, description))
}

// BadRequest is a BadRequest detail with one field violation.
func BadRequest(field, description string) *errdetails.BadRequest {
	return &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description}}}
}

// RetryInfo is a RetryInfo detail asking the caller to wait d; the REST
// facade turns it into Retry-After.
func RetryInfo(d time.Duration) *errdetails.RetryInfo {
	return &errdetails.RetryInfo{RetryDelay: durationpb.New(d)}
}

// Info returns the ErrorInfo of err, or nil when err is not a status
// error or carries none.
func Info(err error) *errdetails.ErrorInfo {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}
