package server_test

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

func TestTLSListenersRejectPlaintext(t *testing.T) {
	ca := testkit.NewCA("test CA")
	cert, pool := ca.Server("eeo-gateway").TLS(), testkit.Pool(ca)
	g := startGateway(t, func(c *server.Config) {
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}} // no MinVersion: the server imposes 1.2
	})
	grpcAddr := g.conn.Target()
	restAddr := strings.TrimPrefix(g.baseURL, "http://")

	// Over TLS both ports work, and REST still reaches the gRPC server.
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := eeov1.NewTokenServiceClient(conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"}); err != nil {
		t.Fatalf("GetToken over TLS: %v", err)
	}
	httpsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer httpsClient.CloseIdleConnections()
	resp, err := httpsClient.Get("https://" + restAddr + "/v1/accounts/demo/token")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("REST over TLS: %v %v", resp, err)
	}
	resp.Body.Close()

	// Plaintext is refused on both.
	plain, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := eeov1.NewTokenServiceClient(plain).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"}); err == nil {
		t.Fatal("plaintext gRPC accepted by a TLS listener")
	}
	if resp, err := http.Get("http://" + restAddr + "/v1/accounts/demo/token"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plaintext HTTP accepted by a TLS listener")
		}
	}
	http.DefaultClient.CloseIdleConnections()

	// TLS 1.1 is refused.
	if c, err := tls.Dial("tcp", restAddr, &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake accepted")
	}
}
