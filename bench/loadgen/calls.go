package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// WithAPIKey returns ctx carrying the caller's API key as gRPC metadata.
func WithAPIKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

// GRPCGetToken calls TokenService/GetToken for account; ctx must carry the
// API key (WithAPIKey).
func GRPCGetToken(conn grpc.ClientConnInterface, account string) Call {
	client := eeov1.NewTokenServiceClient(conn)
	req := &eeov1.GetTokenRequest{Account: account}
	return func(ctx context.Context) error {
		_, err := client.GetToken(ctx, req)
		return err
	}
}

// GRPCHealth calls grpc.health.v1.Health/Check: the floor a gRPC call on
// the same server costs.
func GRPCHealth(conn grpc.ClientConnInterface) Call {
	client := healthpb.NewHealthClient(conn)
	req := &healthpb.HealthCheckRequest{}
	return func(ctx context.Context) error {
		resp, err := client.Check(ctx, req)
		if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			err = fmt.Errorf("health: %v", resp.GetStatus())
		}
		return err
	}
}

// RESTGetToken calls GET {baseURL}/v1/accounts/{account}/token.
func RESTGetToken(client *http.Client, baseURL, apiKey, account string) Call {
	url := baseURL + "/v1/accounts/" + account + "/token"
	auth := "Bearer " + apiKey
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return err
	}
}

// H2CClient is an HTTP client that speaks only HTTP/2 without TLS (prior
// knowledge), as a sidecar does: its workers' requests share one
// connection, as gRPC calls share theirs, unless the server's stream limit
// makes it open more.
func H2CClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}
