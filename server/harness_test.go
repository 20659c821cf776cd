package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// fakeEEO is a token Fetcher a test steers: tokens "tok-N", optional
// failure, optional gate that holds fetches until released.
type fakeEEO struct {
	calls atomic.Int64
	mu    sync.Mutex
	fail  error         // guarded by mu
	gate  chan struct{} // guarded by mu
}

func (f *fakeEEO) FetchToken(ctx context.Context) (auth.Grant, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	gate, fail := f.gate, f.fail
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return auth.Grant{}, &auth.TokenError{Kind: auth.KindTimeout, Err: ctx.Err()}
		}
	}
	if fail != nil {
		return auth.Grant{}, fail
	}
	return auth.Grant{AccessToken: auth.NewSecret("tok-" + strconv.FormatInt(n, 10)), TokenType: "Bearer", ExpiresIn: time.Hour}, nil
}

func (f *fakeEEO) setFail(err error) { f.mu.Lock(); f.fail = err; f.mu.Unlock() }

func (f *fakeEEO) hold() (release func()) {
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	return sync.OnceFunc(func() { close(gate) })
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// gateway is a running server.Server with a client connection to each port.
type gateway struct {
	conn    *grpc.ClientConn
	baseURL string
	logs    *syncBuffer
	eeo     *fakeEEO
	stop    func() error // cancels Serve and returns its result
}

func startGateway(t testing.TB, mutate func(*server.Config)) *gateway {
	t.Helper()
	f := &fakeEEO{}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cache, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: f}, {Name: "other", Fetcher: f}}, auth.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Tokens: cache, Logger: logger, ShutdownTimeout: 5 * time.Second}
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
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, grpcLis, httpLis) }()

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
	return &gateway{conn: conn, baseURL: "http://" + httpLis.Addr().String(), logs: logs, eeo: f, stop: stop}
}

// restCall does an HTTP request against the facade and decodes a JSON body.
func (g *gateway) restCall(t *testing.T, method, path string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, g.baseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var decoded map[string]any
	if len(body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &decoded); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, body, err)
		}
	}
	return resp, decoded
}

// errorInfo returns the ErrorInfo of a gRPC error, failing the test if absent.
func errorInfo(t *testing.T, err error) *errdetails.ErrorInfo {
	t.Helper()
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	t.Fatalf("error %v has no ErrorInfo", err)
	return nil
}

func retryDelay(err error) time.Duration {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}
