package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// gateway is a running server.Server with a client connection to each port.
type gateway struct {
	conn     *grpc.ClientConn
	srv      *server.Server
	baseURL  string
	adminURL string // the admin listener, always served
	logs     *testkit.SyncBuffer
	eeo      *authtest.Fetcher
	up       *fakeUpstream
	stop     func() error // cancels Serve and returns its result
}

func startGateway(t testing.TB, mutate func(*server.Config)) *gateway {
	t.Helper()
	f := &authtest.Fetcher{ExpiresIn: time.Hour}
	logs := &testkit.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cache, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: f}, {Name: "other", Fetcher: f}}, auth.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	up := newFakeUpstream()
	cfg := server.Config{Tokens: cache, Logger: logger, ShutdownTimeout: 5 * time.Second,
		Upstreams: map[string]server.Upstream{"demo": up}, WatchInterval: 5 * time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- srv.ServeListeners(ctx, server.Listeners{GRPC: grpcLis, HTTP: httpLis, Admin: adminLis})
	}()

	conn, err := grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() { cancel(); serveErr = <-served; cache.Close() })
		return serveErr
	}
	t.Cleanup(func() {
		conn.Close()
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
		http.DefaultClient.CloseIdleConnections()
	})
	return &gateway{conn: conn, srv: srv, baseURL: "http://" + httpLis.Addr().String(), adminURL: "http://" + adminLis.Addr().String(),
		logs: logs, eeo: f, up: up, stop: stop}
}

// do makes a bodiless request against the facade with headers set and
// returns the response and its whole body.
func (g *gateway) do(t *testing.T, method, path string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, g.baseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp, body
}

// restCall does an HTTP request against the facade and decodes a JSON body.
func (g *gateway) restCall(t *testing.T, method, path string) (*http.Response, map[string]any) {
	t.Helper()
	resp, body := g.do(t, method, path, nil)
	var decoded map[string]any
	if len(body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &decoded); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, body, err)
		}
	}
	return resp, decoded
}
