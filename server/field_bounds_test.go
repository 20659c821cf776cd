package server_test

import (
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestHugeAccountIsRefusedInAFewBytes: an account field of almost a
// megabyte (the most one message carries) is INVALID_ARGUMENT, and the
// reply does not echo it: the issue saw a 3 MiB account become a 7 MiB
// error reply.
func TestHugeAccountIsRefusedInAFewBytes(t *testing.T) {
	g := startGateway(t, nil)
	huge := strings.Repeat("a", 1<<20-1024)
	_, err := eeov1.NewTokenServiceClient(g.conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: huge})
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("GetToken with a %d-byte account: %v; want INVALID_ARGUMENT", len(huge), err)
	}
	if n := proto.Size(st.Proto()); n > 1024 {
		t.Errorf("the refusal is %d bytes; want it not to echo the account", n)
	}
	if strings.Contains(g.logs.String(), huge[:1024]) {
		t.Error("the account reached the log")
	}
}
