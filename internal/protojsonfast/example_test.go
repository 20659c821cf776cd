package protojsonfast_test

import (
	"fmt"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/protojsonfast"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func ExampleEncoder_Append() {
	var enc protojsonfast.Encoder
	issued := time.Date(2026, 11, 30, 10, 0, 0, 250_000_000, time.UTC)
	resp := &eeov1.GetTokenResponse{Token: &eeov1.Token{
		Account:     "demo",
		AccessToken: "tok-1",
		TokenType:   "Bearer",
		IssueTime:   timestamppb.New(issued),
		IdleTimeout: durationpb.New(3599 * time.Second),
	}}
	buf := make([]byte, 0, 512)
	buf, ok := enc.Append(buf, resp)
	fmt.Println(ok, string(buf))

	// A message with a repeated field is declined: marshal it with protojson.
	list := &eeov1.ListAccountsResponse{NextPageToken: "p2"}
	if _, ok := enc.Append(buf[:0], list); !ok {
		b, _ := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(list)
		fmt.Println(ok, len(b) > 0)
	}
	// Output:
	// true {"token":{"account":"demo","accessToken":"tok-1","tokenType":"Bearer","issueTime":"2026-11-30T10:00:00.250Z","idleExpireTime":null,"expireTime":null,"idleTimeout":"3599s","fingerprint":""}}
	// false true
}
