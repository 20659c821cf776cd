package client

import (
	"context"
	"fmt"

	"google.golang.org/grpc/credentials"
)

// PerRPCCredentials returns gRPC per-call credentials carrying the
// account's EEO token (from the shared TokenSource) as
// "authorization: Bearer …", for gRPC calls to EEO-facing services:
//
//	conn, err := grpc.NewClient(addr,
//		grpc.WithTransportCredentials(credentials.NewTLS(nil)),
//		grpc.WithPerRPCCredentials(c.PerRPCCredentials("demo")))
//
// They require transport security: a bearer token must not cross the
// network in the clear, so gRPC refuses them on an insecure connection.
func (c *Client) PerRPCCredentials(account string) credentials.PerRPCCredentials {
	return perRPC{src: c.source(account)}
}

type perRPC struct{ src *tokenSource }

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (p perRPC) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if ri, ok := credentials.RequestInfoFromContext(ctx); ok {
		if err := credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity); err != nil {
			return nil, fmt.Errorf("client: EEO token not sent over this connection: %w", err)
		}
	}
	tok, err := p.src.token(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": tok.Type() + " " + tok.AccessToken}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (perRPC) RequireTransportSecurity() bool { return true }
