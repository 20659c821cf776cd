package floor_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/bench/floor"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const tokenPath = "/v1/accounts/demo/token"

// gatewayLike answers GetToken as the gateway's REST facade does.
func gatewayLike(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer key" {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "01JDX3R6N2YQ0")
	w.Header().Set("Grpc-Metadata-X-Request-Id", "01JDX3R6N2YQ0")
	w.Write([]byte(`{"token":{"accessToken":"tok","expiresAt":"2026-11-30T10:00:00Z"}}`))
}

// rawGET sends one GET for path on a fresh connection to addr and returns
// the response's bytes as they came off the wire, its Date header blanked.
func rawGET(t *testing.T, addr, path string) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: floor\r\nAuthorization: Bearer key\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	var wire bytes.Buffer
	resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(conn, &wire)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return regexp.MustCompile(`(?m)^Date: [^\r]*\r$`).ReplaceAll(wire.Bytes(), []byte("Date: -\r"))
}

// serve runs f until the test ends, then checks it stopped cleanly.
func serve(t *testing.T, f func(context.Context, net.Listener) error) (addr string, stop func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f(ctx, lis) }()
	stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serving ended with %v, want nil after ctx ended", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("still serving 10s after ctx ended")
		}
	}
	return lis.Addr().String(), stop
}

// The HTTP floor sends, byte for byte, what the server it was captured
// from sent (but the Date), and stops when its context ends.
func TestHTTPFloorRepeatsTheCapturedResponse(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(gatewayLike))
	defer gw.Close()
	resp, err := floor.CaptureHTTP(t.Context(), gw.Client(), gw.URL+tokenPath, http.Header{"Authorization": {"Bearer key"}})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serve(t, func(ctx context.Context, lis net.Listener) error { return floor.ServeHTTP(ctx, lis, resp) })
	want := rawGET(t, gw.Listener.Addr().String(), tokenPath)
	if got := rawGET(t, addr, tokenPath); !bytes.Equal(got, want) {
		t.Errorf("floor answered\n%s\nthe gateway\n%s", got, want)
	}
	if !bytes.Contains(want, []byte("X-Request-Id: 01JDX3R6N2YQ0\r\n")) || !bytes.Contains(want, []byte("Content-Length: 66\r\n")) {
		t.Fatalf("the comparison missed the headers it is about:\n%s", want)
	}
	if got := rawGET(t, addr, "/v1/accounts/other/token"); !bytes.HasPrefix(got, []byte("HTTP/1.1 404 ")) {
		t.Errorf("another path: %q, want a 404", got)
	}
	stop()
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still accepting connections after ctx ended")
	}
}

func TestCaptureHTTPRefusesAFailure(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(gatewayLike))
	defer gw.Close()
	if _, err := floor.CaptureHTTP(t.Context(), gw.Client(), gw.URL+tokenPath, nil); err == nil {
		t.Fatal("a 401 was captured as the response to repeat")
	}
}

// gatewayTokens answers GetToken as the gateway does over gRPC.
type gatewayTokens struct {
	eeov1.UnimplementedTokenServiceServer
}

func realResponse() *eeov1.GetTokenResponse {
	return &eeov1.GetTokenResponse{Token: &eeov1.Token{AccessToken: "tok", ExpireTime: timestamppb.New(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))}}
}

func (gatewayTokens) GetToken(ctx context.Context, _ *eeov1.GetTokenRequest) (*eeov1.GetTokenResponse, error) {
	grpc.SetHeader(ctx, metadata.Pairs("x-request-id", "01JDX3R6N2YQ0"))
	return realResponse(), nil
}

// The gRPC floor answers GetToken with the captured message and response
// metadata, and stops when its context ends.
func TestGRPCFloorRepeatsTheCapturedResponse(t *testing.T) {
	gw := grpc.NewServer()
	eeov1.RegisterTokenServiceServer(gw, gatewayTokens{})
	gwAddr, stopGW := serve(t, func(ctx context.Context, lis net.Listener) error {
		go func() { <-ctx.Done(); gw.Stop() }()
		return gw.Serve(lis)
	})
	defer stopGW()
	dial := func(addr string) eeov1.TokenServiceClient {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return eeov1.NewTokenServiceClient(conn)
	}
	gwConn, err := grpc.NewClient(gwAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer gwConn.Close()
	resp, err := floor.CaptureGRPC(t.Context(), gwConn, "demo")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serve(t, func(ctx context.Context, lis net.Listener) error { return floor.ServeGRPC(ctx, lis, resp) })
	var md metadata.MD
	got, err := dial(addr).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"}, grpc.Header(&md))
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, realResponse()) {
		t.Errorf("floor answered %v, want %v", got, realResponse())
	}
	if v := md.Get("x-request-id"); len(v) != 1 || v[0] != "01JDX3R6N2YQ0" {
		t.Errorf("x-request-id %q, want the captured one", v)
	}
	stop()
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still accepting connections after ctx ended")
	}
}

// Start runs the floor in a process of its own, whose CPU time can be
// charged to it, and Close ends that process.
func TestStartServesFromItsOwnProcess(t *testing.T) {
	resp := floor.HTTPResponse{Path: tokenPath, Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"token":{"accessToken":"tok"}}`)}
	s, err := floor.Start(t.Context(), floor.Spec{Kind: floor.HTTP, HTTP: resp})
	if err != nil {
		t.Fatal(err)
	}
	if s.PID() == os.Getpid() {
		t.Fatal("the floor runs in the load generator's process")
	}
	if got := rawGET(t, s.Addr, tokenPath); !bytes.HasSuffix(got, resp.Body) || !bytes.Contains(got, []byte("Content-Type: application/json\r\n")) {
		t.Errorf("floor process answered %q", got)
	}
	if _, err := s.CPUTime(); err != nil {
		t.Errorf("CPUTime: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		t.Error("still accepting connections after Close")
	}
	if _, err := floor.Start(t.Context(), floor.Spec{Kind: "udp"}); err == nil {
		t.Error("an unknown kind started")
	}
}

// A chunked response would go out framed by a Content-Length from the
// floor, so it is refused rather than repeated differently.
func TestCaptureHTTPRefusesAChunkedResponse(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"token":`))
		w.(http.Flusher).Flush()
		w.Write([]byte(`{}}`))
	}))
	defer gw.Close()
	if _, err := floor.CaptureHTTP(t.Context(), gw.Client(), gw.URL+tokenPath, nil); err == nil {
		t.Fatal("a chunked response was captured to be repeated with a Content-Length")
	}
}
