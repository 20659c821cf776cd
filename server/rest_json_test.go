package server_test

import (
	"net/http"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	_ "google.golang.org/protobuf/types/known/anypb"
)

// TestRESTBodiesDecodeToTheGRPCMessages: whichever way the facade writes a
// response's JSON (its own encoder for GetToken's, protojson for one with
// repeated fields, an error's status), a protojson client reads back the
// message the gRPC call returns.
func TestRESTBodiesDecodeToTheGRPCMessages(t *testing.T) {
	g := startGateway(t, nil)
	client := eeov1.NewTokenServiceClient(g.conn)
	tok, err := client.GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	restTok := &eeov1.GetTokenResponse{}
	restProto(t, g, "/v1/accounts/demo/token", http.StatusOK, restTok)
	if !proto.Equal(restTok, tok) {
		t.Fatalf("REST GetToken = %v\ngRPC GetToken = %v", restTok, tok)
	}

	// Listing touches no token, so both calls see the same accounts.
	list, err := client.ListAccounts(t.Context(), &eeov1.ListAccountsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	restList := &eeov1.ListAccountsResponse{}
	restProto(t, g, "/v1/accounts", http.StatusOK, restList)
	if len(list.GetAccounts()) != 2 || !proto.Equal(restList, list) {
		t.Fatalf("REST ListAccounts = %v\ngRPC ListAccounts = %v", restList, list)
	}

	st := &spb.Status{}
	restProto(t, g, "/v1/accounts/nope/token", http.StatusNotFound, st)
	info := &errdetails.ErrorInfo{}
	if st.GetCode() != int32(codes.NotFound) || len(st.GetDetails()) == 0 || st.GetDetails()[0].UnmarshalTo(info) != nil || info.GetReason() == "" {
		t.Fatalf("REST error = %v", st)
	}
}

// restProto GETs path and decodes its body, which must be JSON with the
// given status, into m with protojson, as a REST client generated from the
// protos would.
func restProto(t *testing.T, g *gateway, path string, wantStatus int, m proto.Message) {
	t.Helper()
	resp, body := g.do(t, http.MethodGet, path, nil)
	if resp.StatusCode != wantStatus || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %q, want %d application/json; body %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), wantStatus, body)
	}
	if err := protojson.Unmarshal(body, m); err != nil {
		t.Fatalf("GET %s: body %s: %v", path, body, err)
	}
}
