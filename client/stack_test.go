package client_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/client"
	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// gateway is an in-process EEO sandbox and eeo-gateway on loopback, wired
// as cmd/eeo-gateway wires them, for the examples and tests: a service
// using this package would only dial the gateway's address.
type gateway struct {
	// Sandbox is the EEO simulator; SandboxURL its base URL.
	Sandbox    *sandbox.Sandbox
	SandboxURL string
	// Addr is the gateway's gRPC address.
	Addr string

	cache      *auth.Cache
	transports []*http.Transport
	stops      []func() error
}

const (
	demoAccount  = "demo"
	demoClientID = "demo-client"
)

// startGateway starts the sandbox, then the gateway. Close stops them.
func startGateway() (*gateway, error) {
	secret := rand.Text()
	g := &gateway{Sandbox: sandbox.New(sandbox.Options{
		Clients:      []sandbox.Client{{ID: demoClientID, Secret: secret}},
		StepDuration: 20 * time.Millisecond,
	})}
	sbLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g.SandboxURL = "http://" + sbLis.Addr().String()
	g.serve(func(ctx context.Context) error { return g.Sandbox.Serve(ctx, sbLis) })

	tokenTransport := http.DefaultTransport.(*http.Transport).Clone()
	eeoTransport := http.DefaultTransport.(*http.Transport).Clone()
	eeoTransport.ExpectContinueTimeout = time.Second
	g.transports = []*http.Transport{tokenTransport, eeoTransport}
	g.cache, err = auth.NewCache([]auth.Account{{Name: demoAccount, Fetcher: &auth.ClientCredentials{
		TokenURL:     g.SandboxURL + "/oauth2/token",
		ClientID:     demoClientID,
		ClientSecret: auth.NewSecret(secret),
		HTTPClient:   &http.Client{Transport: tokenTransport},
	}}}, auth.Options{})
	if err != nil {
		g.Close()
		return nil, err
	}
	up, err := eeo.New(demoAccount, g.SandboxURL, g.cache, eeo.Options{HTTPClient: &http.Client{Transport: eeoTransport}})
	if err != nil {
		g.Close()
		return nil, err
	}
	srv, err := server.New(server.Config{
		Tokens:          g.cache,
		Upstreams:       map[string]server.Upstream{demoAccount: up},
		WatchInterval:   10 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second,
	})
	if err != nil {
		g.Close()
		return nil, err
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		g.Close()
		return nil, err
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		grpcLis.Close()
		g.Close()
		return nil, err
	}
	g.Addr = grpcLis.Addr().String()
	g.serve(func(ctx context.Context) error { return srv.Serve(ctx, grpcLis, httpLis) })
	return g, nil
}

// serve runs fn until Close cancels its context, which then waits for it.
func (g *gateway) serve(fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	g.stops = append(g.stops, func() error { cancel(); return <-done })
}

// Dial connects to the gateway as an internal service would (here without
// TLS or caller credentials, which this gateway does not ask for), with
// the options this package recommends.
func (g *gateway) Dial() (*grpc.ClientConn, error) {
	return grpc.NewClient(g.Addr, append(client.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
}

// Client dials the gateway and returns a client.Client over the
// connection, and the connection to close.
func (g *gateway) Client(opts ...client.Option) (*client.Client, *grpc.ClientConn, error) {
	conn, err := g.Dial()
	if err != nil {
		return nil, nil, err
	}
	return client.New(conn, opts...), conn, nil
}

// Close stops the gateway, then the sandbox, in the reverse order of
// starting, then the cache.
func (g *gateway) Close() error {
	var errs []error
	for i := len(g.stops) - 1; i >= 0; i-- {
		errs = append(errs, g.stops[i]())
	}
	if g.cache != nil {
		g.cache.Close()
	}
	for _, t := range g.transports {
		t.CloseIdleConnections()
	}
	return errors.Join(errs...)
}
