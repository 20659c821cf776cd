package server_test

import (
	"io"
	"net/http"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// BenchmarkGetTokenGRPC measures a cache-hit GetToken over a real loopback
// gRPC connection: the cost a caller pays per token.
func BenchmarkGetTokenGRPC(b *testing.B) {
	g := startGateway(b, nil)
	client := eeov1.NewTokenServiceClient(g.conn)
	req := &eeov1.GetTokenRequest{Account: "demo"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.GetToken(b.Context(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGetTokenREST is the same through the REST facade.
func BenchmarkGetTokenREST(b *testing.B) {
	g := startGateway(b, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	url := g.baseURL + "/v1/accounts/demo/token"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
