package loadgen_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/bench/loadgen"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
)

// grpcTokenServer answers GetToken with token.
type grpcTokenServer struct {
	eeov1.UnimplementedTokenServiceServer
	token *eeov1.Token
}

func (s grpcTokenServer) GetToken(_ context.Context, req *eeov1.GetTokenRequest) (*eeov1.GetTokenResponse, error) {
	t := proto.Clone(s.token).(*eeov1.Token)
	t.Account = req.GetAccount()
	return &eeov1.GetTokenResponse{Token: t}, nil
}

// serve starts a gRPC server with health and a token service handing out
// token, and returns a connection to it.
func serve(t *testing.T, token *eeov1.Token, status healthpb.HealthCheckResponse_ServingStatus) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	h := health.NewServer()
	h.SetServingStatus("", status)
	healthpb.RegisterHealthServer(srv, h)
	eeov1.RegisterTokenServiceServer(srv, grpcTokenServer{token: token})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// The gRPC calls reach a real server with protobuf requests and judge its
// responses from their bytes: a token without an access token, or a server
// not SERVING, fails the call.
func TestGRPCCallsCheckResponsesWithoutDecoding(t *testing.T) {
	good := serve(t, &eeov1.Token{AccessToken: "t0k3n", TokenType: "Bearer"}, healthpb.HealthCheckResponse_SERVING)
	if err := loadgen.GRPCGetToken(good, "demo")(t.Context()); err != nil {
		t.Errorf("GetToken: %v", err)
	}
	if err := loadgen.GRPCHealth(good)(t.Context()); err != nil {
		t.Errorf("Health: %v", err)
	}
	bad := serve(t, &eeov1.Token{TokenType: "Bearer"}, healthpb.HealthCheckResponse_NOT_SERVING)
	if err := loadgen.GRPCGetToken(bad, "demo")(t.Context()); err == nil {
		t.Error("GetToken accepted a token without an access token")
	}
	if err := loadgen.GRPCHealth(bad)(t.Context()); err == nil {
		t.Error("Health accepted NOT_SERVING")
	}
}

func TestValidateGetTokenProto(t *testing.T) {
	full, _ := proto.Marshal(&eeov1.GetTokenResponse{Token: &eeov1.Token{Account: "demo", AccessToken: "t", Fingerprint: "f"}})
	if err := loadgen.ValidateGetTokenProto(full); err != nil {
		t.Errorf("a GetToken response: %v", err)
	}
	healthResp, _ := proto.Marshal(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
	for name, b := range map[string][]byte{"empty": nil, "health": healthResp, "truncated": full[:len(full)-3], "no token": {}} {
		if err := loadgen.ValidateGetTokenProto(b); err == nil {
			t.Errorf("%s: accepted % x", name, b)
		}
	}
}

// A response that is not a GetToken response fails without its bytes,
// which may hold a token, reaching the error: here a bare Token (its
// access_token is field 2, where a response has none).
func TestValidatorsKeepTokensOutOfErrors(t *testing.T) {
	secret := "s3cret-access-token"
	b, _ := proto.Marshal(&eeov1.Token{AccessToken: secret})
	err := loadgen.ValidateGetTokenProto(b)
	if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), fmt.Sprintf("% x", secret[:4])) {
		t.Errorf("binary: %v", err)
	}
	err = loadgen.ValidateGetToken([]byte(`["accessToken", "` + secret + `"]`))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("JSON: %v", err)
	}
}
