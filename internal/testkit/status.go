package testkit

import (
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// WantStatus fails t unless err is a gRPC status with code and, when reason
// is not empty, an ErrorInfo of the gateway's domain with that reason. It
// returns the status for further checks (message, details).
func WantStatus(t testing.TB, err error, code codes.Code, reason string) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
	if reason == "" {
		return st
	}
	info := rpcerr.Info(err)
	if info == nil {
		t.Fatalf("%v: no ErrorInfo, want reason %s", err, reason)
	}
	if info.GetDomain() != rpcerr.Domain || info.GetReason() != reason {
		t.Fatalf("ErrorInfo %s/%s, want %s/%s (%v)", info.GetDomain(), info.GetReason(), rpcerr.Domain, reason, err)
	}
	return st
}

// ErrorInfo returns err's ErrorInfo, failing t when it has none.
func ErrorInfo(t testing.TB, err error) *errdetails.ErrorInfo {
	t.Helper()
	info := rpcerr.Info(err)
	if info == nil {
		t.Fatalf("error %v carries no ErrorInfo", err)
	}
	return info
}

// RetryInfo returns err's RetryInfo, or nil.
func RetryInfo(err error) *errdetails.RetryInfo {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri
		}
	}
	return nil
}

// RetryDelay is the delay err's RetryInfo asks for; 0 without one.
func RetryDelay(err error) time.Duration {
	return RetryInfo(err).GetRetryDelay().AsDuration()
}

// FieldViolations returns the fields err's BadRequest detail names.
func FieldViolations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}
