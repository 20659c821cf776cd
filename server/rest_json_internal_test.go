package server

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestRESTJSONWritesATokenInOneAllocation: the facade's marshaler takes
// the fast path for GetToken's response — its body buffer is the only
// allocation — and writes protojson's JSON.
func TestRESTJSONWritesATokenInOneAllocation(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.UTC)
	resp := &eeov1.GetTokenResponse{Token: &eeov1.Token{
		Account: "demo", AccessToken: "tok-1", TokenType: "Bearer",
		IssueTime: timestamppb.New(at), IdleExpireTime: timestamppb.New(at.Add(time.Hour)), ExpireTime: timestamppb.New(at.Add(2 * time.Hour)),
		IdleTimeout: durationpb.New(3599 * time.Second), Fingerprint: "abc123",
	}}
	m := restJSON()
	got, err := m.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, raw); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("Marshal = %s\nprotojson  %s", got, want.Bytes())
	}
	if n := testing.AllocsPerRun(50, func() { m.Marshal(resp) }); n != 1 {
		t.Fatalf("Marshal allocates %v times per token response; want 1 (the body)", n)
	}
}
