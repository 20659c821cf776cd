package access_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// exampleTokens is a stand-in TokenService that says who called.
type exampleTokens struct {
	eeov1.UnimplementedTokenServiceServer
}

func (exampleTokens) GetToken(ctx context.Context, req *eeov1.GetTokenRequest) (*eeov1.GetTokenResponse, error) {
	caller, _ := access.CallerFrom(ctx)
	return &eeov1.GetTokenResponse{Token: &eeov1.Token{Account: req.GetAccount(), Fingerprint: "for " + caller.Name}}, nil
}

// A payroll service holding an API key may get tokens for account "acme"
// and nothing else.
func ExampleNew() {
	const key = "payroll-secret-key" // in real life: random, from a secret store
	sum := sha256.Sum256([]byte(key))

	guard, err := access.New(access.Config{
		APIKeys: []access.APIKey{{Caller: "payroll", SHA256: hex.EncodeToString(sum[:])}},
		Policies: []access.Policy{{
			Caller:      "apikey:payroll", // the identity the key proves
			Accounts:    []string{"acme"},
			Permissions: []access.Permission{access.PermTokenGet},
		}},
		RateLimit: access.RateLimit{PerSecond: 50},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer guard.Close()

	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(guard.UnaryInterceptor()),
		grpc.ChainStreamInterceptor(guard.StreamInterceptor()),
	)
	eeov1.RegisterTokenServiceServer(srv, exampleTokens{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.Serve(lis)
	defer srv.Stop()

	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	client := eeov1.NewTokenServiceClient(conn)
	ctx := context.Background()
	withKey := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)

	resp, err := client.GetToken(withKey, &eeov1.GetTokenRequest{Account: "acme"})
	fmt.Println("acme with key:", status.Code(err), resp.GetToken().GetFingerprint())
	_, err = client.GetToken(withKey, &eeov1.GetTokenRequest{Account: "globex"})
	fmt.Println("globex with key:", status.Code(err))
	_, err = client.GetToken(ctx, &eeov1.GetTokenRequest{Account: "acme"})
	fmt.Println("acme without key:", status.Code(err))

	// Output:
	// acme with key: OK for apikey:payroll
	// globex with key: PermissionDenied
	// acme without key: Unauthenticated
}
