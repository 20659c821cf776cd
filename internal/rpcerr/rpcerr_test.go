package rpcerr_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestNewCarriesErrorInfoFirstThenDetails(t *testing.T) {
	err := rpcerr.New(codes.Unavailable, "EEO_UNAVAILABLE", "EEO is unavailable",
		map[string]string{"account": "acme"}, nil, rpcerr.RetryInfo(3*time.Second))
	st := status.Convert(err)
	if st.Code() != codes.Unavailable || st.Message() != "EEO is unavailable" {
		t.Fatalf("status %v %q", st.Code(), st.Message())
	}
	d := st.Details()
	if len(d) != 2 {
		t.Fatalf("details %v, want ErrorInfo then RetryInfo (nil skipped)", d)
	}
	info, ok := d[0].(*errdetails.ErrorInfo)
	if !ok || info.GetDomain() != rpcerr.Domain || info.GetReason() != "EEO_UNAVAILABLE" || info.GetMetadata()["account"] != "acme" {
		t.Fatalf("details[0] = %v, want the ErrorInfo", d[0])
	}
	if ri, ok := d[1].(*errdetails.RetryInfo); !ok || ri.GetRetryDelay().AsDuration() != 3*time.Second {
		t.Fatalf("details[1] = %v, want RetryInfo 3s", d[1])
	}
}

func TestInvalidFieldNamesTheField(t *testing.T) {
	st := status.Convert(rpcerr.InvalidField("account", "required"))
	if st.Code() != codes.InvalidArgument || st.Message() != "invalid account: required" {
		t.Fatalf("status %v %q", st.Code(), st.Message())
	}
	info := rpcerr.Info(st.Err())
	if info.GetReason() != rpcerr.ReasonInvalidArgument || info.GetMetadata()["field"] != "account" {
		t.Fatalf("ErrorInfo %v", info)
	}
	br, ok := st.Details()[1].(*errdetails.BadRequest)
	if !ok || br.GetFieldViolations()[0].GetField() != "account" || br.GetFieldViolations()[0].GetDescription() != "required" {
		t.Fatalf("details[1] = %v, want a BadRequest for account", st.Details()[1])
	}
}

func TestInfoOfAPlainError(t *testing.T) {
	if info := rpcerr.Info(status.Error(codes.Internal, "x")); info != nil {
		t.Fatalf("Info = %v, want nil for a status without details", info)
	}
	if info := rpcerr.Info(nil); info != nil {
		t.Fatalf("Info(nil) = %v", info)
	}
}

func ExampleNew() {
	err := rpcerr.New(codes.NotFound, "ACCOUNT_NOT_FOUND", `unknown account "acme"`, map[string]string{"account": "acme"})
	info := rpcerr.Info(err)
	fmt.Println(status.Code(err), info.GetDomain(), info.GetReason())
	// Output: NotFound eeo-gateway.github.io ACCOUNT_NOT_FOUND
}
